"""The reject gate: a pulse `delay_ms` after the frame's capture, `pulse_ms` long, never late.

The part reaches the reject station a fixed time after the camera saw it, so the pulse is timed
from the frame's capture time, not from when the verdict came. A verdict that arrives after the
pulse should have started is never fired (a late pulse would reject the next, good part): it is
counted and `on_late` raises the alarm. Overlapping pulses of one camera merge into one (the
output goes low after the last one ends). Pulses are fired from the gate's own thread, so a
slow peer delays neither inspection nor the output's other messages.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Any, Callable

from resad_station.outputs.config import RejectConfig

log = logging.getLogger(__name__)

LATE_MESSAGE = "verdict too late for the reject gate"


class RejectGate:
    def __init__(self, config: RejectConfig, fire: Callable[[str, bool], None],
                 on_late: Callable[[Any, float], None], name: str = "output",
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._fire = fire
        self._on_late = on_late
        self._clock = clock
        self.name = name
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, str, str, float, Any]] = []  # (at, seq, on/off, camera, end, frame)
        self._seq = itertools.count()
        self._high: dict[str, int] = {}  # camera -> pulses in progress
        self._stop = False
        self._thread: threading.Thread | None = None
        self.scheduled = self.fired = self.late = self.errors = 0
        self.last_error = ""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"output-{self.name}-reject", daemon=True)
        self._thread.start()

    def halt(self) -> None:
        """Fire nothing more (pulses still scheduled are dropped with the gate); returns at once."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def stop(self, timeout: float = 1.0) -> None:
        self.halt()
        if self._thread is not None:
            self._thread.join(timeout)

    def schedule(self, frame: Any) -> bool:
        """Called for every verdict (inspection thread, quick): True when a pulse was scheduled."""
        if frame.verdict.value not in self.config.verdicts:
            return False
        start = frame.captured_at + self.config.delay_ms / 1000.0
        end = start + self.config.pulse_ms / 1000.0
        now = self._clock()
        if now >= start:
            self._late(frame, now - start)
            return False
        with self._cond:
            self.scheduled += 1
            heapq.heappush(self._heap, (start, next(self._seq), "on", frame.camera, end, frame))
            self._cond.notify()
        return True

    def _late(self, frame: Any, by_s: float) -> None:
        with self._cond:
            self.late += 1
        log.warning("%s: frame %s of %s: %s by %.1f ms", self.name, frame.frame_index, frame.camera, LATE_MESSAGE,
                    by_s * 1000)
        self._on_late(frame, by_s * 1000.0)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and (not self._heap or self._heap[0][0] > self._clock()):
                    wait = None if not self._heap else max(0.0, self._heap[0][0] - self._clock())
                    self._cond.wait(wait)
                if self._stop:
                    return
                at, _, action, camera, end, frame = heapq.heappop(self._heap)
            if action == "on" and self._clock() >= end:  # the thread woke after the whole window: never fire late
                self._late(frame, self._clock() - at)
                continue
            self._edge(camera, action, end, frame)

    def _edge(self, camera: str, action: str, end: float, frame: Any) -> None:
        with self._cond:
            count = self._high.get(camera, 0) + (1 if action == "on" else -1)
            self._high[camera] = count
            if action == "on":
                heapq.heappush(self._heap, (end, next(self._seq), "off", camera, end, frame))
            edge = (action == "on" and count == 1) or (action == "off" and count == 0)
        if not edge:
            return
        try:
            self._fire(camera, action == "on")
            if action == "on":
                self.fired += 1
        except Exception as exc:  # noqa: BLE001 - a dead PLC link: counted, the gate goes on
            self.errors += 1
            self.last_error = f"reject {action}: {exc}"
            log.warning("%s: reject pulse %s for %s failed: %s", self.name, action, camera, exc)
