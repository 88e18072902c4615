"""The live camera picture in the side column: the newest captured frame, fitted, nothing else.

It changes up to PREVIEW_FPS times a second (resad_station/runtime/pipeline.py), so it is a
plain widget that draws one QImage over the bridge's preview array: no scene graph, zoom or
levels (the inspected view has those). Under
cProfile in `gui --bench` the pyqtgraph views' paints took 9.4 s of the UI thread in 1,889 paints
(5 ms each), and the UI thread's Python holds the interpreter lock the inspection thread needs.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QWidget

from resad_station.runtime.events import CameraState
from ui.camera_state_label import DIMMED_OPACITY, CameraStateLabel

BACKGROUND = QColor("#202020")


class LiveFeedView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shown_image: np.ndarray | None = None  # exactly what is drawn
        self._qimage: QImage | None = None
        self._opacity = 1.0
        self.state_label = CameraStateLabel(self)

    def show_picture(self, picture: np.ndarray) -> None:
        """An RGB uint8 picture; the array is kept, not copied (the bridge makes a new one each time)."""
        rgb = np.ascontiguousarray(picture)
        h, w = rgb.shape[:2]
        self.shown_image = rgb
        self._qimage = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        self.update()

    def set_camera_state(self, state: CameraState) -> None:
        self._opacity = 1.0 if self.state_label.set_camera_state(state) else DIMMED_OPACITY
        self.update()

    @property
    def state_text(self) -> str:
        return self.state_label.state_text

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._qimage is not None:
            w, h = self._qimage.width(), self._qimage.height()
            scale = min(self.width() / w, self.height() / h)
            target = QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.setOpacity(self._opacity)
            painter.drawImage(target, self._qimage)
        painter.end()
