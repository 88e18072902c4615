"""Hand-over buffers between the capture thread and the inspection thread.

LatestFrameSlot (live display): holds one frame; a new frame replaces an unconsumed one and the
replaced frame is counted as dropped. FrameFifo (triggered / file mode): bounded, never drops; the
producer blocks until there is room (back-pressure). Both can be closed: a blocked put() returns
False at once, and get() drains what is left, then returns None without waiting.
"""

from __future__ import annotations

import collections
import threading
import time

from .base import Frame


class _Buffer:
    def __init__(self, capacity: int) -> None:
        self._items: collections.deque[Frame] = collections.deque()
        self._capacity = capacity
        self._cond = threading.Condition()
        self._closed = False

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def get_many(self, max_n: int, timeout: float | None = None) -> list[Frame]:
        """Up to max_n frames, oldest first; waits up to `timeout` for the first one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return []
                self._cond.wait(remaining)
            out = [self._items.popleft() for _ in range(min(max_n, len(self._items)))]
            self._cond.notify_all()  # room for a blocked producer
            return out

    def get(self, timeout: float | None = None) -> Frame | None:
        got = self.get_many(1, timeout)
        return got[0] if got else None


class LatestFrameSlot(_Buffer):
    def __init__(self) -> None:
        super().__init__(capacity=1)
        self.dropped = 0

    def put(self, frame: Frame) -> bool:
        with self._cond:
            if self._closed:
                return False
            if self._items:
                self._items.clear()
                self.dropped += 1
            self._items.append(frame)
            self._cond.notify_all()
            return True


class FrameFifo(_Buffer):
    dropped = 0  # by construction

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"queue size must be at least 1, got {capacity}")
        super().__init__(capacity)

    def put(self, frame: Frame) -> bool:
        """Block until there is room; False (frame not queued) only when closed meanwhile."""
        with self._cond:
            while len(self._items) >= self._capacity and not self._closed:
                self._cond.wait()
            if self._closed:
                return False
            self._items.append(frame)
            self._cond.notify_all()
            return True
