"""A thread-safe set of runtime listeners; one listener's exception never reaches the runtime."""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class ListenerSet:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: tuple[Any, ...] = ()  # copy-on-write: publishing iterates without the lock

    def add(self, listener: Any) -> None:
        with self._lock:
            if listener not in self._listeners:
                self._listeners = self._listeners + (listener,)

    def remove(self, listener: Any) -> None:
        with self._lock:
            self._listeners = tuple(x for x in self._listeners if x is not listener)

    def __len__(self) -> int:
        return len(self._listeners)

    def publish(self, method: str, payload: Any) -> None:
        """Call `listener.<method>(payload)` on each listener that has it; log and go on on error."""
        for listener in self._listeners:
            fn = getattr(listener, method, None)
            if fn is None:
                continue
            try:
                fn(payload)
            except Exception:  # a broken listener (a UI, an output) must not stop inspection
                log.exception("listener %r failed in %s; the runtime goes on", listener, method)
