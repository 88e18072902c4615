"""Paces a simulated line on a monotonic clock (frame k is due at t0 + k/fps, so sleeps never drift)."""

from __future__ import annotations

import time

from .base import ReadTimeout


class Pacer:
    def __init__(self, fps: float) -> None:
        if not fps or fps <= 0:
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        self.period = 1.0 / float(fps)
        self._t0: float | None = None
        self._k = 0
        self.last_wait_ms = 0.0  # the last wait()'s sleep

    def reset(self) -> None:
        """Start a new schedule (after open / reconnect): the next frame is due at once."""
        self._t0 = None
        self._k = 0

    def wait(self, timeout: float | None = None) -> None:
        """Sleep until the next frame is due; raise ReadTimeout if that is further than `timeout`."""
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        due = self._t0 + self._k * self.period
        if now > due + self.period:
            # more than a period late (consumer back-pressure): rebase rather than burst to catch up,
            # a real line does not send a salvo of parts after a stop
            self._t0, self._k, due = now, 0, now
        delay = due - now
        self.last_wait_ms = max(0.0, delay) * 1000.0
        if timeout is not None and delay > timeout:
            time.sleep(max(0.0, timeout))
            raise ReadTimeout(f"next frame due in {delay:.3f} s")
        if delay > 0:
            time.sleep(delay)
        self._k += 1
