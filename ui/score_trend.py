"""Score trend over the last minutes: every inspected frame's score, T1/T2 lines, defect markers."""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from resad_station.runtime.events import Verdict
from ui.bridge import ScorePoint
from ui.drift_marks import DriftMarks

T1_COLOUR = "#f0a030"  # uncertain
T2_COLOUR = "#e03030"  # fail
REDRAW_MS = 100  # 10 Hz is plenty for a trend; frames may arrive at 30+ Hz


class ScoreTrendPlot(pg.PlotWidget):
    def __init__(self, window_s: float = 300.0, parent: QWidget | None = None) -> None:
        super().__init__(parent, axisItems={"bottom": pg.DateAxisItem()})
        self.window_s = window_s
        self.points: deque[ScorePoint] = deque()
        self.setBackground("#181818")
        self.setLabel("left", "score")
        self.setMouseEnabled(x=False, y=True)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setMenuEnabled(False)
        self.curve = self.plot(pen=pg.mkPen("#80c0ff", width=1.5))
        self.curve.setClipToView(True)
        self.curve.setDownsampling(auto=True, method="peak")
        self.fail_marks = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(T2_COLOUR), pen=None, symbol="o")
        self.uncertain_marks = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(T1_COLOUR), pen=None, symbol="t")
        self.addItem(self.uncertain_marks)
        self.addItem(self.fail_marks)
        # Labels at different places along the lines: close thresholds never put one label over the other.
        label_opts = {"color": "#dddddd", "fill": (0, 0, 0, 140)}
        self.t1_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(T1_COLOUR, width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine),
                                       label="T1 {value:.3g}", labelOpts=label_opts | {"position": 0.03})
        self.t2_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(T2_COLOUR, width=2), label="T2 {value:.3g}",
                                       labelOpts=label_opts | {"position": 0.16})
        self.setLabel("bottom", "clock time")
        self.addItem(self.t1_line)
        self.addItem(self.t2_line)
        self.drift_marks = DriftMarks(self)
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._redraw)
        self._timer.start(REDRAW_MS)

    def set_thresholds(self, t_uncertain: float, t_fail: float) -> None:
        self.t1_line.setValue(t_uncertain)
        self.t2_line.setValue(t_fail)

    def add_points(self, points: list[ScorePoint]) -> None:
        self.points.extend(points)
        self._dirty = self._dirty or bool(points)

    def clear(self) -> None:  # noqa: D102 (PlotWidget has clear(); ours also forgets the data)
        self.points.clear()
        self._dirty = True

    def recent_scores(self) -> np.ndarray:
        return np.fromiter((p.score for p in self.points), dtype=np.float64, count=len(self.points))

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        horizon = (self.points[-1].time if self.points else time.time()) - self.window_s
        while self.points and self.points[0].time < horizon:
            self.points.popleft()
        t = np.fromiter((p.time for p in self.points), dtype=np.float64, count=len(self.points))
        s = self.recent_scores()
        self.curve.setData(t, s)
        fail = np.fromiter((p.verdict == Verdict.FAIL for p in self.points), dtype=bool, count=len(self.points))
        unc = np.fromiter((p.verdict == Verdict.UNCERTAIN for p in self.points), dtype=bool, count=len(self.points))
        self.drift_marks.redraw(horizon, t[-1] if len(t) else time.time())
        self.fail_marks.setData(t[fail], s[fail])
        self.uncertain_marks.setData(t[unc], s[unc])
        if len(t):
            self.setXRange(max(t[0], t[-1] - self.window_s), t[-1] + 1.0, padding=0.02)
            top = max(float(s.max()), self.t2_line.value()) * 1.1
            self.setYRange(0.0, top, padding=0.0)
