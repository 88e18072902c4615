"""Alarm state machine: debounce over consecutive fails, latch, acknowledge, clear.

States and transitions (one machine per camera):

    IDLE         --N consecutive FAIL-->  RAISED        (event RAISED)
    RAISED       --PASS, latch off-->     IDLE          (event CLEARED)
    RAISED       --PASS, latch on-->      RAISED        (stays until acknowledged)
    RAISED       --acknowledge-->         ACKNOWLEDGED  (event ACKNOWLEDGED; the sound stops)
    ACKNOWLEDGED --PASS-->                IDLE          (event CLEARED)
    ACKNOWLEDGED --N more consecutive FAIL--> RAISED    (event RAISED: the fault persists)

If a latched alarm is acknowledged after the line already recovered (the last verdict was a
PASS), it clears at once (ACKNOWLEDGED then CLEARED): nothing is left to wait for.
UNCERTAIN neither counts towards the debounce nor breaks it (it goes to review, not to the
alarm); only a PASS resets the consecutive-fail count.

Not thread-safe by itself: the pipeline calls it under its own lock.
"""

from __future__ import annotations

import enum
import time
from typing import Callable

from resad_station.runtime.events import AlarmEvent, AlarmStatus, Verdict


class AlarmState(str, enum.Enum):
    IDLE = "idle"
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"


class AlarmMachine:
    def __init__(
        self,
        camera: str,
        product: str,
        debounce_frames: int = 1,
        latch: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if debounce_frames < 1:
            raise ValueError(f"thresholds.debounce_frames must be >= 1, got {debounce_frames}")
        self.camera = camera
        self.product = product
        self.debounce_frames = int(debounce_frames)
        self.latch = bool(latch)
        self._clock = clock
        self.state = AlarmState.IDLE
        self.consecutive_fails = 0
        self._last_verdict: Verdict | None = None

    @property
    def active(self) -> bool:
        """True while the alarm sounds (raised, not yet acknowledged)."""
        return self.state is AlarmState.RAISED

    def configure(self, debounce_frames: int | None = None, latch: bool | None = None) -> None:
        if debounce_frames is not None:
            if debounce_frames < 1:
                raise ValueError(f"thresholds.debounce_frames must be >= 1, got {debounce_frames}")
            self.debounce_frames = int(debounce_frames)
        if latch is not None:
            self.latch = bool(latch)

    def reset(self, product: str | None = None) -> list[AlarmEvent]:
        """Product switch: an open alarm belongs to the old product, so it is cleared."""
        events = []
        if self.state is not AlarmState.IDLE:
            events.append(self._event(AlarmStatus.CLEARED, message="product switched"))
        if product is not None:
            self.product = product
        self.state = AlarmState.IDLE
        self.consecutive_fails = 0
        self._last_verdict = None
        return events

    def observe(self, verdict: Verdict, score: float = 0.0, frame_index: int = -1) -> list[AlarmEvent]:
        """Feed one verdict; returns the alarm events it caused (usually none)."""
        self._last_verdict = verdict
        if verdict is Verdict.PASS:
            self.consecutive_fails = 0
            if self.state is AlarmState.ACKNOWLEDGED or (self.state is AlarmState.RAISED and not self.latch):
                self.state = AlarmState.IDLE
                return [self._event(AlarmStatus.CLEARED, score, frame_index, "line back to pass")]
            return []
        if verdict is not Verdict.FAIL:
            return []
        self.consecutive_fails += 1
        if self.state is not AlarmState.RAISED and self.consecutive_fails >= self.debounce_frames:
            self.state = AlarmState.RAISED
            self.consecutive_fails = 0  # an acknowledged fault re-raises only after N more fails
            message = f"{self.debounce_frames} consecutive fail(s)"
            return [self._event(AlarmStatus.RAISED, score, frame_index, message)]
        return []

    def raise_for(self, message: str) -> list[AlarmEvent]:
        """Raise for a condition other than fails (inspection falling behind); latch and ack as usual."""
        if self.state is not AlarmState.IDLE:
            return []
        self.state = AlarmState.RAISED
        return [self._event(AlarmStatus.RAISED, message=message)]

    def acknowledge(self, message: str = "", actor: str = "") -> list[AlarmEvent]:
        if self.state is not AlarmState.RAISED:
            return []
        events = [self._event(AlarmStatus.ACKNOWLEDGED, message=message or "acknowledged", actor=actor)]
        self.consecutive_fails = 0
        if self._last_verdict is Verdict.PASS:
            self.state = AlarmState.IDLE
            events.append(self._event(AlarmStatus.CLEARED, message="acknowledged after recovery", actor=actor))
        else:
            self.state = AlarmState.ACKNOWLEDGED
        return events

    def _event(self, status: AlarmStatus, score: float = 0.0, frame_index: int = -1, message: str = "",
               actor: str = "") -> AlarmEvent:
        return AlarmEvent(
            camera=self.camera,
            product=self.product,
            status=status,
            time=self._clock(),
            score=float(score),
            frame_index=int(frame_index),
            message=message,
            actor=actor,
        )
