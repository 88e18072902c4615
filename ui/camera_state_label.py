"""The "not live" sign over a camera picture: CONNECTING, RECONNECTING: reason, CAMERA FAILED...

A large text on a dark band, centred over the picture it is a child of, so a stale frame is never
mistaken for a live one. Both live pictures (the inspected view and the camera feed) carry one.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QWidget

from resad_station.runtime.events import CameraState, CameraStatus

DIMMED_OPACITY = 0.25  # the picture under the sign
_NOT_LIVE_TEXT = {
    CameraStatus.CONNECTING: "CONNECTING",
    CameraStatus.RECONNECTING: "RECONNECTING",
    CameraStatus.FAILED: "CAMERA FAILED",
    CameraStatus.STOPPED: "STOPPED",
    CameraStatus.FINISHED: "END OF SOURCE",
}


class CameraStateLabel(QLabel):
    def __init__(self, picture: QWidget) -> None:
        super().__init__(picture)  # a child on top of the picture, not in its layout
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setStyleSheet(
            "background: rgba(0,0,0,170); color: #ffcc00; font-size: 30pt; font-weight: bold; padding: 16px;"
        )
        self.hide()
        picture.installEventFilter(self)

    def set_camera_state(self, state: CameraState) -> bool:
        """Show or hide the sign; True when the camera is live (the picture at full opacity)."""
        text = _NOT_LIVE_TEXT.get(state.status)
        if text is None:
            self.hide()
            return True
        self.setText(f"{text}: {state.reason}" if state.reason else text)
        self.show()
        self._place()
        return False

    @property
    def state_text(self) -> str:
        return self.text() if self.isVisible() else ""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        picture = self.parentWidget()
        w = picture.width()
        self.setFixedWidth(max(200, int(w * 0.8)))
        self.adjustSize()
        self.move((w - self.width()) // 2, (picture.height() - self.height()) // 2)
        self.raise_()
