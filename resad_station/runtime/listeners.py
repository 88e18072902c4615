"""A thread-safe set of runtime listeners; one listener's exception never reaches the runtime.

Event names are the `RuntimeListener` protocol's `on_*` methods. A listener is checked when it is
added: an `on_*` method the protocol does not know (a misspelt `on_fram`) is an error then, not a
silently skipped event later. A listener may leave protocol methods out; one with `on_event(name,
payload)` receives every event it has no method of its own for (outputs forward events that way,
so a new event kind reaches them without a change there).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from resad_station.runtime.events import CATCH_ALL, EVENT_METHODS, RuntimeListener

log = logging.getLogger(__name__)


class ListenerError(ValueError):
    """A listener with a method no runtime event has, or an event the protocol does not name."""


def check_listener(listener: Any) -> None:
    handlers = {name for name in dir(listener) if name.startswith("on_") and callable(getattr(listener, name, None))}
    unknown = sorted(handlers - EVENT_METHODS - {CATCH_ALL})
    if unknown:
        raise ListenerError(f"{type(listener).__name__}: {', '.join(unknown)} is not a runtime event; "
                            f"expected one of {', '.join(sorted(EVENT_METHODS))} (or {CATCH_ALL})")
    if not handlers:
        raise ListenerError(f"{type(listener).__name__} has none of the runtime events "
                            f"{', '.join(sorted(EVENT_METHODS))} (nor {CATCH_ALL})")


class ListenerSet:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: tuple[RuntimeListener, ...] = ()  # copy-on-write: publishing iterates without the lock

    def add(self, listener: RuntimeListener) -> None:
        check_listener(listener)
        with self._lock:
            if listener not in self._listeners:
                self._listeners = self._listeners + (listener,)

    def remove(self, listener: RuntimeListener) -> None:
        with self._lock:
            self._listeners = tuple(x for x in self._listeners if x is not listener)

    def __len__(self) -> int:
        return len(self._listeners)

    def publish(self, method: str, payload: Any) -> None:
        """Call `listener.<method>(payload)` (else `on_event(method, payload)`); log and go on on error."""
        if method not in EVENT_METHODS:
            raise ListenerError(f"{method!r} is not a runtime event; expected one of {', '.join(sorted(EVENT_METHODS))}")
        for listener in self._listeners:
            fn = getattr(listener, method, None)
            catch_all = None if fn is not None else getattr(listener, CATCH_ALL, None)
            if fn is None and catch_all is None:
                continue
            try:
                fn(payload) if fn is not None else catch_all(method, payload)
            except Exception:  # a broken listener (a UI, an output) must not stop inspection
                log.exception("listener %r failed in %s; the runtime goes on", listener, method)
