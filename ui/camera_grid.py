"""The camera grid of a station with several cameras: one tile per camera, a click opens it.

A tile shows the camera's live picture, the last inspected frame with its heatmap (never a map
on another frame), the verdict badge and the camera's state. Each tile reads its own small
RuntimeBridge (frames downscaled to TILE_MAX_SIDE in the runtime thread), so the grid never
takes frames away from the camera's full live screen.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from resad_station.runtime.events import CameraState, CameraStatus
from ui.bridge import RuntimeBridge
from ui.fitted_picture import FittedPicture
from ui.verdict_badge import VerdictBadge

TILE_MAX_SIDE = 480
STATE_COLOUR = {CameraStatus.CONNECTED: "#3cb371", CameraStatus.CONNECTING: "#d4a017",
                CameraStatus.RECONNECTING: "#e07020", CameraStatus.FAILED: "#e04040"}


class CameraTile(QFrame):
    clicked = Signal(str)  # the camera's name

    def __init__(self, camera: str, bridge: RuntimeBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.camera = camera
        self.bridge = bridge
        self.frames_shown = 0
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.title = QLabel(f"<b>{camera}</b>")
        self.state = QLabel("connecting")
        self.live = FittedPicture("live", (160, 120), smooth=False)
        self.inspected = FittedPicture("inspected", (160, 120), smooth=False)
        self.badge = VerdictBadge()
        self.badge.setMinimumHeight(56)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.state)
        pictures = QHBoxLayout()
        pictures.addWidget(self.live)
        pictures.addWidget(self.inspected)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(pictures, 1)
        layout.addWidget(self.badge)
        bridge.preview_ready.connect(self._take_preview)
        bridge.frame_ready.connect(self._take_frame)
        bridge.camera_state.connect(self.set_camera_state)

    def _take_preview(self) -> None:
        preview = self.bridge.take_preview()
        if preview is not None:
            self.live.set_rgb(preview.image)

    def _take_frame(self) -> None:
        frame = self.bridge.take_frame()
        self.bridge.take_scores()  # the tile shows no trend; keep the bridge's backlog empty
        if frame is None:
            return
        self.inspected.set_rgb(frame.overlay)  # the map blended on the frame it was computed for
        self.badge.set_verdict(frame.verdict, frame.score)
        self.title.setText(f"<b>{self.camera}</b> · {frame.product}")
        self.frames_shown += 1

    def set_camera_state(self, state: CameraState) -> None:
        colour = STATE_COLOUR.get(state.status, "#888888")
        reason = f": {state.reason}" if state.reason else ""
        self.state.setText(f"<span style='color:{colour}'>●</span> {state.status.value}{reason}")
        self.state.setToolTip(state.reason)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.camera)
        super().mouseReleaseEvent(event)


class CameraGrid(QWidget):
    camera_clicked = Signal(str)

    def __init__(self, tiles: list[CameraTile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tiles = {t.camera: t for t in tiles}
        grid = QGridLayout(self)
        columns = max(1, math.ceil(math.sqrt(len(tiles))))
        for i, tile in enumerate(tiles):
            grid.addWidget(tile, i // columns, i % columns)
            tile.clicked.connect(self.camera_clicked)
