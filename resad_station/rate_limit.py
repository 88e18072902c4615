"""A schedule-based rate limit shared by the display path and the line outputs."""

from __future__ import annotations

import time
from typing import Callable


class RateLimiter:
    """Lets an event through at most `per_second` times a second (None: always).

    Slots follow a schedule, with a quarter-period of slack for an early frame: a 30 fps camera
    with jitter stays 30 fps under a 30/s limit instead of halving, and a 60 fps one is halved.
    """

    def __init__(self, per_second: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        if per_second is not None and per_second <= 0:
            raise ValueError(f"a rate must be a positive number per second or None, got {per_second!r}")
        self.period = 0.0 if per_second is None else 1.0 / per_second
        self._slack = self.period / 4
        self._clock = clock
        self._next: float | None = None

    def allow(self) -> bool:
        now = self._clock()
        if self._next is not None and now < self._next - self._slack:
            return False
        if self._next is None or now > self._next + self.period:  # first frame, or after a pause: a new schedule
            self._next = now + self.period
        else:  # on schedule; a late frame pushes the next slot so two never come closer than period - slack
            self._next = max(self._next + self.period, now + self.period - self._slack)
        return True
