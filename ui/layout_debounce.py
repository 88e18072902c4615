"""Layout requests from the live screen reach the window's tab widget a few times a second, not 40.

Qt passes every size-hint change up the whole parent chain (QLayout::activate ends with the
parent's updateGeometry, whether or not anything changed), and QTabWidget answers a layout
request by repainting itself with every page in it. On the live screen a caption or the verdict
badge changes text with every frame, so the whole window was repainted 40-50 times a second
(counted in `gui --bench`: the central area painted 738 times in 15 s), and that Python-side
painting (pyqtgraph) held the interpreter lock the inspection thread needs. The filter holds
those requests and delivers one at most every INTERVAL_MS: a page whose minimum size really
changed is laid out a quarter of a second later at worst.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

INTERVAL_MS = 250


class LayoutRequestDebounce(QObject):
    def __init__(self, *watched: QObject) -> None:
        super().__init__(watched[0])
        self._waiting: set[QObject] = set()
        self._delivering = False
        self.held = 0  # requests folded into a later one (the bench reports it)
        for obj in watched:
            obj.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() != QEvent.Type.LayoutRequest or self._delivering:
            return False
        if watched not in self._waiting:
            self._waiting.add(watched)
            QTimer.singleShot(INTERVAL_MS, watched, lambda w=watched: self._deliver(w))  # dies with it
        else:
            self.held += 1
        return True

    def _deliver(self, watched: QObject) -> None:
        self._waiting.discard(watched)
        self._delivering = True
        try:
            QCoreApplication.sendEvent(watched, QEvent(QEvent.Type.LayoutRequest))
        finally:
            self._delivering = False
