"""The live picture: frame + heatmap overlay in a zoomable, pannable pyqtgraph ViewBox.

Mouse wheel zooms, drag pans, double-click (or the Fit button in the screen) fits the frame.
When the camera is not delivering, the picture is dimmed under ui.camera_state_label's sign.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from resad_station.runtime.events import CameraState
from ui import overlay
from ui.bridge import LiveFrame
from ui.camera_state_label import DIMMED_OPACITY, CameraStateLabel


class _ZoomView(pg.GraphicsView):
    def __init__(self, box: pg.ViewBox) -> None:
        super().__init__()
        self.box = box
        self.setCentralItem(box)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.box.autoRange(padding=0.0)
        event.accept()


class LiveImageView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.box.setBackgroundColor("#202020")
        self.image_item = pg.ImageItem(axisOrder="row-major", levels=None)
        self.box.addItem(self.image_item)
        self.view = _ZoomView(self.box)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

        self.state_label = CameraStateLabel(self)

        self.opacity = 0.6
        self.frame: LiveFrame | None = None
        self.shown_image: np.ndarray | None = None  # exactly what the ImageItem holds
        self._shape: tuple[int, int] | None = None

    # -- frames --
    def show_frame(self, frame: LiveFrame) -> None:
        self.frame = frame
        picture = frame.overlay
        if frame.opacity != self.opacity:
            picture = overlay.compose_overlay(frame.image, frame.heat, self.opacity, frame.contours)
        self._show(picture)

    def show_picture(self, picture: np.ndarray) -> None:
        """A plain picture (the live camera feed): no heatmap to re-blend."""
        self.frame = None
        self._show(picture)

    def set_opacity(self, opacity: float) -> None:
        self.opacity = opacity
        if self.frame is not None:  # re-blend the current frame so the slider answers at once
            f = self.frame
            self._show(overlay.compose_overlay(f.image, f.heat, opacity, f.contours))

    def _show(self, picture: np.ndarray) -> None:
        self.shown_image = picture
        # uint8 RGB with no levels goes to the screen as it is (a QImage over the array); levels
        # (0, 255) would make pyqtgraph rescale every pixel first: about 3 ms a picture at 30 fps
        self.image_item.setImage(picture, autoLevels=False)
        if picture.shape[:2] != self._shape:  # new size: fit once, then respect the user's zoom
            self._shape = picture.shape[:2]
            self.box.autoRange(padding=0.0)

    def fit(self) -> None:
        self.box.autoRange(padding=0.0)

    # -- camera state --
    def set_camera_state(self, state: CameraState) -> None:
        live = self.state_label.set_camera_state(state)
        self.image_item.setOpacity(1.0 if live else DIMMED_OPACITY)

    @property
    def state_text(self) -> str:
        return self.state_label.state_text
