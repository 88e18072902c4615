"""The "why" panel: a frame's region beside the part of the reference shot it was compared with."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from ui.thumbnail_loader import rgb_to_qimage

SIDE = 120


class WhyPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setFixedWidth(2 * SIDE + 12)
        self.caption.setMinimumHeight(40)
        self.region, self.reference = QLabel(), QLabel()
        for label, title in ((self.region, "this region"), (self.reference, "reference")):
            label.setFixedSize(SIDE, SIDE)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("background: #202020; color: #aaaaaa; border: 1px solid #6a4bc4;")
            label.setToolTip(title)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption, 0, 0, 1, 2)
        layout.addWidget(self.region, 1, 0)
        layout.addWidget(self.reference, 1, 1)
        self.clear()

    def show_why(self, crop: np.ndarray | None, ref_crop: np.ndarray | None, caption: str) -> None:
        self.caption.setText(f"Why: {caption}")
        for label, rgb in ((self.region, crop), (self.reference, ref_crop)):
            if rgb is None:
                label.setText("file missing")
                label.setPixmap(QPixmap())
            else:
                rgb = np.repeat(rgb[:, :, None], 3, axis=2) if rgb.ndim == 2 else rgb
                label.setPixmap(QPixmap.fromImage(rgb_to_qimage(np.ascontiguousarray(rgb))).scaled(
                    SIDE, SIDE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

    def clear(self, text: str = "Why: no comparison stored for this frame") -> None:
        self.caption.setText(text)
        for label in (self.region, self.reference):
            label.setPixmap(QPixmap())
            label.setText("")
