"""Layout requests from the live screen reach the window's tab widget a few times a second, not 40.

Qt passes every size-hint change up the whole parent chain (QLayout::activate ends with the
parent's updateGeometry, whether or not anything changed), and QTabWidget answers a layout
request by repainting itself with every page in it. On the live screen a caption or the verdict
badge changes text with every frame, so the whole window was repainted 40-50 times a second
(an event filter counting paints during a 15 s `gui --bench` run: the central area 738 times;
46 with this filter), and that Python-side painting (pyqtgraph) held the interpreter lock the
inspection thread needs. The filter holds
those requests and delivers one at most every INTERVAL_MS: a page whose minimum size really
changed is laid out a quarter of a second later at worst.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

INTERVAL_MS = 250


class LayoutRequestDebounce(QObject):
    """Installed on a window's QTabWidget (its child: it lives as long as the tabs do)."""

    def __init__(self, tabs: QObject) -> None:
        super().__init__(tabs)
        self._waiting = False
        self._delivering = False
        self.held = 0  # requests folded into a later one
        tabs.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() != QEvent.Type.LayoutRequest or self._delivering:
            return False
        if self._waiting:
            self.held += 1
        else:
            self._waiting = True
            QTimer.singleShot(INTERVAL_MS, self, lambda: self._deliver(watched))
        return True

    def _deliver(self, tabs: QObject) -> None:
        self._waiting = False
        self._delivering = True
        try:
            QCoreApplication.sendEvent(tabs, QEvent(QEvent.Type.LayoutRequest))
        finally:
            self._delivering = False
