"""Thresholds over the good-score histogram: drag T1/T2 (or type them), then Apply.

Apply is a request (`apply_requested`); the settings screen asks for the engineer role first and
puts the lines back where the runtime has them when the change is refused.
"""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ui.score_histogram import ScoreHistogram


def _threshold_box() -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(4)
    box.setRange(0.0, 1e6)
    box.setSingleStep(0.01)
    return box


class ThresholdEditor(QWidget):
    apply_requested = Signal(float, float)  # (t_uncertain, t_fail)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.histogram = ScoreHistogram(editable=True)
        self.t1 = _threshold_box()
        self.t2 = _threshold_box()
        self.note = QLabel("Drag the T1 (uncertain) and T2 (fail) lines, or type the values.")
        self.apply_button = QPushButton("Apply thresholds")
        self.reset_button = QPushButton("Reset")
        self.apply_button.clicked.connect(self._apply)
        self.reset_button.clicked.connect(self.reset)
        self.histogram.thresholds_changed.connect(self._lines_moved)
        self.t1.valueChanged.connect(self._boxes_changed)
        self.t2.valueChanged.connect(self._boxes_changed)
        form = QFormLayout()
        form.addRow("T1 uncertain above", self.t1)
        form.addRow("T2 fail above", self.t2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.note, 1)
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.apply_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.histogram, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        self.current = (0.0, 0.0)  # what the runtime uses now

    def set_good_scores(self, scores: Sequence[float]) -> None:
        self.histogram.set_good_scores(scores)

    def set_current(self, t_uncertain: float, t_fail: float) -> None:
        """The thresholds in force (from the runtime); the edit starts from them."""
        self.current = (t_uncertain, t_fail)
        self.reset()

    def reset(self) -> None:
        self._show(*self.current)

    def edited(self) -> tuple[float, float]:
        return self.t1.value(), self.t2.value()

    def _show(self, t1: float, t2: float) -> None:
        for box, value in ((self.t1, t1), (self.t2, t2)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.histogram.set_thresholds(t1, t2)

    def _lines_moved(self, t1: float, t2: float) -> None:
        self._show(t1, t2)

    def _boxes_changed(self) -> None:
        self.histogram.set_thresholds(*self.edited())

    def _apply(self) -> None:
        t1, t2 = self.edited()
        if not 0 <= t1 < t2:
            self.note.setText(f"T1 must be below T2 (got T1 {t1:.4g}, T2 {t2:.4g})")
            return
        self.apply_requested.emit(t1, t2)
