"""`gui --bench`: how the UI keeps up with a 1920x1080 camera (reported, never asserted in tests).

The source is a 1920x1080 video of the profile's line played as a live camera at BENCH_FPS
(resad_station/runtime/bench_video.py), with the part's box as the camera ROI.
EventLoopProbe: a QTimer asks to fire every PERIOD_MS; how late each tick comes is how long
the event loop was blocked (a paint, a slot, a big upload). Its p99 is the stall a user feels.
The live view's refresh rate is live camera pictures shown per second by the LiveScreen; the
inspected picture's rate (heatmap and verdict) is the inspection's and is reported beside it.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer

from resad_station.runtime.bench_video import SIZES

PERIOD_MS = 5
BENCH_SIZE = SIZES["1080p"]
BENCH_FPS = 30.0


class EventLoopProbe(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lateness_ms: list[float] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._clock.start()
        self._last = 0.0
        self._timer.start(PERIOD_MS)

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = self._clock.nsecsElapsed() / 1e6
        if self._last:
            self.lateness_ms.append(max(0.0, now - self._last - PERIOD_MS))
        self._last = now

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.lateness_ms, q)) if self.lateness_ms else float("nan")


class BenchReport:
    def __init__(self, probe: EventLoopProbe, live_screen, stages=None) -> None:
        self.probe = probe
        self.stages = stages  # the station's StageTimes: the whole path, GUI stages included
        self.live = live_screen
        self.started = time.monotonic()
        self.shown_at_start = live_screen.frames_shown
        self.previews_at_start = live_screen.previews_shown

    def lines(self, metrics) -> list[str]:
        elapsed = time.monotonic() - self.started
        shown = self.live.frames_shown - self.shown_at_start
        previews = self.live.previews_shown - self.previews_at_start
        bridge = self.live.bridge
        out = [
            f"bench: source {BENCH_SIZE[0]}x{BENCH_SIZE[1]} video as a live camera at {BENCH_FPS:.0f} fps, {elapsed:.1f} s",
            f"bench: live view refresh {previews / elapsed:.1f} frames/s ({previews} camera pictures shown, {bridge.previews_coalesced} coalesced)",
            f"bench: inspected view refresh {shown / elapsed:.1f} frames/s ({shown} inspected frames shown, {bridge.coalesced} coalesced)",
            f"bench: event-loop stall p50 {self.probe.percentile(50):.1f} ms, p99 {self.probe.percentile(99):.1f} ms, max {max(self.probe.lateness_ms, default=float('nan')):.1f} ms ({len(self.probe.lateness_ms)} probes every {PERIOD_MS} ms)",
        ]
        if metrics is not None:
            out.append(f"bench: runtime inspected {metrics.frames_inspected} frames, {metrics.fps:.1f} fps, p95 latency {metrics.latency_p95_ms:.0f} ms, dropped {metrics.frames_dropped}")
        if self.stages is not None:
            out += [f"bench: {line}" for line in self.stages.table().splitlines()]
        return out
