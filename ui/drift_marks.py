"""Drift warnings on the score trend: a violet band from raised to cleared, labelled with the shift."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor

from resad_station.runtime.drift import DriftEvent, DriftStatus
from ui.drift_banner import DRIFT_COLOUR


class DriftMarks:
    """Owned by a ScoreTrendPlot: bands (LinearRegionItem) for the warnings inside its window."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        self.plot = plot
        self.spans: list[list] = []  # [raised time, cleared time or None, shift sigma]
        self._items: list[pg.GraphicsObject] = []

    @property
    def open(self) -> bool:
        return bool(self.spans) and self.spans[-1][1] is None

    def on_drift(self, event: DriftEvent) -> None:
        if event.status is DriftStatus.RAISED:
            self.spans.append([event.time, None, event.shift_sigma])
        elif self.open:
            self.spans[-1][1] = event.time
        self.plot._dirty = True  # noqa: SLF001 (the plot redraws at its own pace)

    def redraw(self, horizon: float, now: float) -> None:
        for item in self._items:
            self.plot.removeItem(item)
        self._items = []
        self.spans = [s for s in self.spans if s[1] is None or s[1] >= horizon]
        fill = QColor(DRIFT_COLOUR)
        fill.setAlpha(60)
        for start, end, shift in self.spans:
            band = pg.LinearRegionItem((max(start, horizon), end if end is not None else now), movable=False,
                                       brush=pg.mkBrush(fill), pen=pg.mkPen(DRIFT_COLOUR, width=1))
            band.setZValue(-10)
            label = pg.InfLineLabel(band.lines[0], text=f"drift +{shift:.1f} sigma", position=0.92,
                                    color=DRIFT_COLOUR, fill=(0, 0, 0, 150))
            del label  # owned by the line
            self.plot.addItem(band)
            self._items.append(band)
