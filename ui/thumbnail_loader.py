"""Loads gallery thumbnails in one background thread, newest request first.

The gallery asks for thumbnails as rows become visible; scrolling fast queues many requests, and
only the latest ones matter, so the queue is a stack (LIFO) with a bounded size: stale requests
fall off the bottom. Results are QImages (safe to build outside the GUI thread), delivered by a
queued signal. `stop()` ends the thread (the main window calls it on close).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from resad_station.capture.decode import ImageDecodeError, read_image_file
from ui.overlay import fit_longest_side

MAX_PENDING = 256
CACHE_SIZE = 2000


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    # .copy(): the QImage must own its pixels; the numpy buffer goes away after this function.
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def read_rgb(path: Path) -> np.ndarray | None:
    """The stored picture as RGB, or None when it is missing or unreadable. Through the station's
    decoder, so a pixel bomb or a huge file in the store is refused from its header, never allocated."""
    try:
        return read_image_file(path)
    except (OSError, ImageDecodeError):
        return None


class ThumbnailLoader(QObject):
    loaded = Signal(str, object)  # (key, QImage or None when the file is missing / unreadable)

    def __init__(self, size: int = 160, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.size = size
        self._cache: OrderedDict[str, QImage | None] = OrderedDict()
        self._pending: OrderedDict[str, Path] = OrderedDict()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ui-thumbnails", daemon=True)
        self._thread.start()
        self.loaded.connect(self._remember)

    def get(self, key: str, path: Path) -> QImage | None:
        """The cached thumbnail, or None after queueing a load (then `loaded` fires)."""
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        with self._cond:
            self._pending.pop(key, None)
            self._pending[key] = path  # newest at the end
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
            self._cond.notify()
        return None

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._cond.notify()
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                key, path = self._pending.popitem(last=True)  # LIFO: what was asked for last
            rgb = read_rgb(path)
            image = rgb_to_qimage(fit_longest_side(rgb, self.size)) if rgb is not None else None
            self.loaded.emit(key, image)

    def _remember(self, key: str, image: QImage | None) -> None:
        self._cache[key] = image
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
