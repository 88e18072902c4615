"""Histogram of scores against the good-score distribution from calibration, with T1/T2 lines.

Used three ways: on the live screen (recent scores vs good scores, lines fixed), in the enroll
wizard (the calibration's good scores and proposed thresholds) and in settings, where the lines
are draggable (`editable=True`) and `thresholds_changed` fires when a drag ends.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from ui.score_trend import T1_COLOUR, T2_COLOUR

GOOD_BRUSH = (60, 200, 90, 110)
RECENT_PEN = "#80c0ff"
BINS = 40


class ScoreHistogram(pg.PlotWidget):
    thresholds_changed = Signal(float, float)  # (t_uncertain, t_fail) after a drag

    def __init__(self, editable: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("#181818")
        self.setLabel("bottom", "score")
        self.setLabel("left", "share of frames")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.getAxis("left").enableAutoSIPrefix(False)
        self.addLegend(offset=(-10, 10))
        self.good_item = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=GOOD_BRUSH, pen=pg.mkPen((60, 200, 90)), name="good (calibration)")
        self.recent_item = pg.PlotDataItem(stepMode="center", pen=pg.mkPen(RECENT_PEN, width=2), name="recent")
        self.addItem(self.good_item)
        self.addItem(self.recent_item)
        # T1's label sits higher than T2's: close thresholds never put one label over the other.
        opts = {"color": "#dddddd", "fill": (0, 0, 0, 140), "movable": True}
        self.t1_line = pg.InfiniteLine(angle=90, movable=editable, pen=pg.mkPen(T1_COLOUR, width=2), hoverPen=pg.mkPen(T1_COLOUR, width=4), label="T1 {value:.3g}", labelOpts=opts | {"position": 0.85})
        self.t2_line = pg.InfiniteLine(angle=90, movable=editable, pen=pg.mkPen(T2_COLOUR, width=2), hoverPen=pg.mkPen(T2_COLOUR, width=4), label="T2 {value:.3g}", labelOpts=opts | {"position": 0.55})
        self.addItem(self.t1_line)
        self.addItem(self.t2_line)
        self.good_scores = np.zeros(0)
        self.recent_scores = np.zeros(0)
        self.t1_line.sigPositionChangeFinished.connect(self._drag_finished)
        self.t2_line.sigPositionChangeFinished.connect(self._drag_finished)

    def set_editable(self, editable: bool) -> None:
        self.t1_line.setMovable(editable)
        self.t2_line.setMovable(editable)

    def set_good_scores(self, scores: Sequence[float]) -> None:
        self.good_scores = np.asarray(scores, dtype=np.float64)
        self._redraw()

    def set_recent_scores(self, scores: Sequence[float]) -> None:
        self.recent_scores = np.asarray(scores, dtype=np.float64)
        self._redraw()

    def set_thresholds(self, t_uncertain: float, t_fail: float) -> None:
        self.t1_line.setValue(t_uncertain)
        self.t2_line.setValue(t_fail)
        self._redraw()

    def thresholds(self) -> tuple[float, float]:
        return float(self.t1_line.value()), float(self.t2_line.value())

    def _drag_finished(self) -> None:
        t1, t2 = self.thresholds()
        if t1 >= t2:  # keep T1 < T2: the line that was not dragged wins; nudge the other
            t1 = t2 * 0.95
            self.t1_line.setValue(t1)
        self.thresholds_changed.emit(t1, t2)

    def _redraw(self) -> None:
        t1, t2 = self.thresholds()
        values = [v for v in (self.good_scores, self.recent_scores) if v.size]
        top = max([t2 * 1.3] + [float(v.max()) for v in values])
        edges = np.linspace(0.0, top * 1.02 if top > 0 else 1.0, BINS + 1)
        for item, data in ((self.good_item, self.good_scores), (self.recent_item, self.recent_scores)):
            if data.size:
                counts, _ = np.histogram(np.clip(data, 0, edges[-1]), bins=edges)
                item.setData(edges, counts / data.size)
            else:
                item.setData([], [])
        self.setXRange(0.0, edges[-1], padding=0.02)
