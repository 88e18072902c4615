"""Run slow or writing work (builds, database writes, exports) off the UI thread.

Each task runs in its own named Python thread; its result or exception comes back to the UI
thread through a queued signal and is handed to the callbacks there. The runner keeps every
thread it started so that closing the window can wait for them (no thread outlives the UI).
"""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)
_ids = itertools.count(1)


class TaskRunner(QObject):
    _finished = Signal(object, object, object)  # (callback, value, is_error)
    busy_changed = Signal(int)  # number of running tasks

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._finished.connect(self._deliver)
        self.errors: list[BaseException] = []  # failures with no on_error, kept for the status bar / tests

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        name: str = "task",
    ) -> threading.Thread:
        def body() -> None:
            try:
                value = fn(*args)
            except BaseException as exc:  # noqa: BLE001 (reported to the UI, not swallowed)
                log.exception("UI task %s failed", name)
                self._finished.emit(on_error or self._keep_error, exc, True)
            else:
                self._finished.emit(on_done, value, False)
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())
                    left = len(self._threads)
                self.busy_changed.emit(left)

        thread = threading.Thread(target=body, name=f"ui-{name}-{next(_ids)}", daemon=True)
        with self._lock:
            self._threads.add(thread)
            count = len(self._threads)
        thread.start()
        self.busy_changed.emit(count)
        return thread

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._threads)

    def wait(self, timeout: float = 30.0) -> bool:
        """Join every running task (closing the window); False if one is still running after timeout."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)

    def _keep_error(self, exc: BaseException) -> None:
        self.errors.append(exc)

    def _deliver(self, callback: Callable[[Any], None] | None, value: Any, _is_error: bool) -> None:
        if callback is not None:
            callback(value)
