"""Where the time goes: durations of every stage of the whole path, capture to stored record.

Each thread adds its own stages (the capture thread "read" and "roi_crop", the inspection thread
the engine's stages and "verdict" and "listeners", the recorder "encode_png", "overlay" ...,
the GUI bridge "bridge_downscale", the live screen "paint"). A stage keeps its last KEEP
durations, so a long run's summary describes its recent state at a bounded cost. `summary()`
gives per stage the count, mean, p50 and p95 in milliseconds, in path order.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Iterator

import numpy as np

KEEP = 4096

# The order of the whole path; a stage not listed here is reported after these.
ORDER = (
    "read", "roi_crop", "queue_wait",  # capture thread: source read + decode (pacing excluded), ROI cut; waiting
    "preprocess", "backbone", "checks", "nn_search", "flows", "postprocess",  # engine (per frame of a batch)
    "verdict", "listeners",  # inspection thread: judge + publish; listeners include the GUI bridge
    "bridge_downscale", "bridge_preview", "paint", "paint_preview",  # GUI: inspected frame, live picture
    "encode_png", "overlay", "encode_jpeg", "store_map", "why_crops", "db_write",  # recorder thread
)


class StageTimes:
    """Thread-safe: stages are added from several threads at once."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = int(keep)
        self._lock = threading.Lock()
        self._samples: dict[str, deque[float]] = {}
        self._counts: dict[str, int] = {}

    def add(self, stage: str, ms: float) -> None:
        with self._lock:
            samples = self._samples.get(stage)
            if samples is None:
                samples = self._samples[stage] = deque(maxlen=self._keep)
                self._counts[stage] = 0
            samples.append(float(ms))
            self._counts[stage] += 1

    def add_many(self, timings: dict[str, float], skip: tuple[str, ...] = ("total",)) -> None:
        for stage, ms in timings.items():
            if stage not in skip:
                self.add(stage, ms)

    @contextmanager
    def timer(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, (time.perf_counter() - start) * 1000.0)

    def summary(self) -> dict[str, dict[str, float]]:
        """{stage: {"count", "mean_ms", "p50_ms", "p95_ms"}} over each stage's kept durations."""
        with self._lock:
            snapshot = {k: (np.asarray(v, dtype=np.float64), self._counts[k]) for k, v in self._samples.items() if v}
        rank = {name: i for i, name in enumerate(ORDER)}
        out = {}
        for stage in sorted(snapshot, key=lambda s: (rank.get(s, len(ORDER)), s)):
            values, count = snapshot[stage]
            out[stage] = {"count": count, "mean_ms": round(float(values.mean()), 3),
                          "p50_ms": round(float(np.percentile(values, 50)), 3),
                          "p95_ms": round(float(np.percentile(values, 95)), 3)}
        return out

    def table(self) -> str:
        return stage_table(self.summary())


def stage_table(summary: dict[str, dict[str, float]]) -> str:
    """A summary as aligned text lines (inspect --stats prints the JSON; benches print this)."""
    rows = [f"{'stage':<18}{'count':>8}{'mean ms':>10}{'p50 ms':>10}{'p95 ms':>10}"]
    for stage, s in summary.items():
        rows.append(f"{stage:<18}{s['count']:>8}{s['mean_ms']:>10.2f}{s['p50_ms']:>10.2f}{s['p95_ms']:>10.2f}")
    return "\n".join(rows)
