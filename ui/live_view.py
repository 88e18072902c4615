"""The live picture: frame + heatmap overlay in a zoomable, pannable pyqtgraph ViewBox.

Mouse wheel zooms, drag pans, double-click (or the Fit button in the screen) fits the frame.
When the camera is not delivering, the picture is dimmed and a large overlay text says why
("RECONNECTING: reason"), so a stale frame is never mistaken for a live one.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from resad_station.runtime.events import CameraState, CameraStatus
from ui import overlay
from ui.bridge import LiveFrame

DIMMED_OPACITY = 0.25
_NOT_LIVE_TEXT = {
    CameraStatus.CONNECTING: "CONNECTING",
    CameraStatus.RECONNECTING: "RECONNECTING",
    CameraStatus.FAILED: "CAMERA FAILED",
    CameraStatus.STOPPED: "STOPPED",
    CameraStatus.FINISHED: "END OF SOURCE",
}


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
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.image_item)
        self.view = _ZoomView(self.box)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

        self.state_label = QLabel(self)  # child on top of the view, not in the layout
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.state_label.setWordWrap(True)
        self.state_label.setStyleSheet(
            "background: rgba(0,0,0,170); color: #ffcc00; font-size: 30pt; font-weight: bold; padding: 16px;"
        )
        self.state_label.hide()

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
        self.image_item.setImage(picture, autoLevels=False, levels=(0, 255))
        if picture.shape[:2] != self._shape:  # new size: fit once, then respect the user's zoom
            self._shape = picture.shape[:2]
            self.box.autoRange(padding=0.0)

    def fit(self) -> None:
        self.box.autoRange(padding=0.0)

    # -- camera state --
    def set_camera_state(self, state: CameraState) -> None:
        text = _NOT_LIVE_TEXT.get(state.status)
        if text is None:  # connected: live again
            self.state_label.hide()
            self.image_item.setOpacity(1.0)
            return
        self.state_label.setText(f"{text}: {state.reason}" if state.reason else text)
        self.image_item.setOpacity(DIMMED_OPACITY)
        self.state_label.show()
        self._place_label()

    @property
    def state_text(self) -> str:
        return self.state_label.text() if self.state_label.isVisible() else ""

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._place_label()

    def _place_label(self) -> None:
        w = self.width()
        self.state_label.setFixedWidth(max(200, int(w * 0.8)))
        self.state_label.adjustSize()
        self.state_label.move((w - self.state_label.width()) // 2, (self.height() - self.state_label.height()) // 2)
        self.state_label.raise_()

