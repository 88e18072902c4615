"""Rolling metrics of one pipeline: fps and capture-to-verdict latency over a recent window.

Counts (captured, inspected, dropped, per verdict, recorder skips) are totals since start; fps
and latency percentiles look only at the last `window_s` seconds, so a stall shows quickly.
fps is the frames decided in that window over the window's wall-clock length (shorter only just
after start): a batch of 4 decided within a millisecond is 4 frames, not 3000 fps.
Thread-safe: the inspection thread records, any thread may take a snapshot.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque

import numpy as np

from resad_station.runtime.events import Metrics, Verdict


class RollingMetrics:
    def __init__(self, camera: str, window_s: float = 5.0, max_samples: int = 4096,
                 started_at: float | None = None) -> None:
        self.camera = camera
        self.window_s = float(window_s)
        self.started_at = time.time() if started_at is None else float(started_at)
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, float]] = deque(maxlen=max_samples)  # (decided_at, latency_ms)
        self._all_latencies: list[float] = []  # whole-run percentiles for the final summary
        self.counts = {v.value: 0 for v in Verdict}
        self.frames_inspected = 0

    def record(self, decided_at: float, latency_ms: float, verdict: Verdict) -> None:
        with self._lock:
            self._samples.append((decided_at, latency_ms))
            if len(self._all_latencies) < 1_000_000:  # bounded: ~8 MB at most
                self._all_latencies.append(latency_ms)
            self.counts[verdict.value] += 1
            self.frames_inspected += 1

    def snapshot(
        self,
        now: float,
        frames_captured: int,
        frames_dropped: int,
        recorder_skipped: int,
        alarm_active: bool,
    ) -> Metrics:
        with self._lock:
            recent = [(t, lat) for t, lat in self._samples if now - t <= self.window_s]
            counts = dict(self.counts)
            inspected = self.frames_inspected
        span = min(self.window_s, now - self.started_at)
        fps = len(recent) / span if span >= 0.5 else 0.0  # under half a second of history says nothing yet
        lats = np.array([lat for _, lat in recent], dtype=np.float64)
        p50, p95 = (float(np.percentile(lats, 50)), float(np.percentile(lats, 95))) if lats.size else (0.0, 0.0)
        return Metrics(
            camera=self.camera,
            fps=fps,
            latency_p50_ms=p50,
            latency_p95_ms=p95,
            frames_captured=int(frames_captured),
            frames_inspected=inspected,
            frames_dropped=int(frames_dropped),
            recorder_skipped=int(recorder_skipped),
            counts=counts,
            alarm_active=alarm_active,
        )

    def run_latency_percentiles(self) -> dict[str, float]:
        """p50/p95/max capture-to-verdict latency over the whole run (for --stats)."""
        with self._lock:
            lats = np.array(self._all_latencies, dtype=np.float64)
        if not lats.size:
            return {"p50_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0}
        return {
            "p50_ms": float(np.percentile(lats, 50)),
            "p95_ms": float(np.percentile(lats, 95)),
            "max_ms": float(lats.max()),
        }


def rss_mb() -> float:
    """Resident memory of this process now (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0
