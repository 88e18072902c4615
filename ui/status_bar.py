"""Status bar: camera state, fps, p95 latency, dropped frames (runtime + display), line outputs, role."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from resad_station.runtime.events import CameraState, CameraStatus, Metrics

_CAMERA_COLOUR = {
    CameraStatus.CONNECTED: "#2bb24c",
    CameraStatus.CONNECTING: "#c7a400",
    CameraStatus.RECONNECTING: "#e07000",
    CameraStatus.FAILED: "#d02020",
}


class ElidedLabel(QLabel):
    """Plain text that elides ("…") to the room it gets and never asks for more than `max_width`:
    a long camera error must not widen the window (the whole text is in the tooltip)."""

    def __init__(self, text: str = "", max_width: int = 420, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.max_width = max_width
        self.full_text = text

    def setText(self, text: str) -> None:  # noqa: N802 (Qt override)
        self.full_text = text
        self.setToolTip(text)
        super().setText(text)
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802
        hint = super().sizeHint()
        return QSize(min(hint.width(), self.max_width), hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(min(60, super().minimumSizeHint().width()), super().minimumSizeHint().height())

    def shown_text(self) -> str:
        room = self.contentsRect().width()
        return self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, max(0, room))

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.drawText(self.contentsRect(), int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), self.shown_text())

_OUTPUT_COLOUR = {"connected": "#2bb24c", "connecting": "#c7a400", "reconnecting": "#e07000", "failed": "#d02020"}


class StationStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.camera = ElidedLabel("camera: -")
        self.behind = ElidedLabel("")  # "falling behind: N frames queued, verdicts X s late"
        self.fps = QLabel("fps: -")
        self.latency = QLabel("p95: -")
        self.dropped = QLabel("dropped: 0")
        self.counts = QLabel("")
        self.outputs = QLabel("")
        self.role = QLabel("operator")
        for label in (self.camera, self.behind, self.fps, self.latency, self.dropped, self.counts, self.outputs, self.role):
            label.setStyleSheet("padding: 0 10px; font-size: 11pt;")
            self.addPermanentWidget(label)
        self.display_coalesced = 0
        self._metrics: Metrics | None = None
        self._outputs: dict[str, str] = {}  # output name -> its rich text

    def set_camera_state(self, state: CameraState) -> None:
        colour = _CAMERA_COLOUR.get(state.status, "#888888")
        reason = f" ({state.reason})" if state.reason else ""
        self.camera.setStyleSheet(f"padding: 0 10px; font-size: 11pt; color: {colour};")
        self.camera.setText(f"● {state.camera}: {state.status.value}{reason}")

    def set_metrics(self, m: Metrics) -> None:
        self.fps.setText(f"fps: {m.fps:.1f}")
        self.latency.setText(f"p95: {m.latency_p95_ms:.0f} ms")
        self._metrics = m
        self._paint_dropped()
        self.counts.setText(" ".join(f"{k}: {v}" for k, v in sorted(m.counts.items())))
        behind = getattr(m, "falling_behind", "")
        self.behind.setText(behind)
        self.behind.setStyleSheet("padding: 0 10px; font-size: 11pt; color: #ffffff; background: #c02020;" if behind
                                  else "padding: 0 10px; font-size: 11pt;")

    def set_display_coalesced(self, n: int) -> None:
        """Frames the screen skipped because the UI was behind (the runtime still inspected them)."""
        self.display_coalesced = n
        self._paint_dropped()

    def set_output_state(self, status) -> None:
        """One line output's state and counters (sent / dropped); hover for the last error."""
        colour = _OUTPUT_COLOUR.get(status.state.value, "#888888")
        self._outputs[status.name] = (f"<span style='color:{colour}'>●</span> {status.name} "
                                      f"{status.sent}/{status.dropped}" + (f" late {status.rejects_late}"
                                                                          if status.rejects_late else ""))
        self.outputs.setText(" · ".join(self._outputs.values()))
        if status.last_error:
            self.outputs.setToolTip(f"{status.name}: {status.state.value}: {status.last_error}")

    def set_role(self, role: str) -> None:
        self.role.setText(role)

    def _paint_dropped(self) -> None:
        m = self._metrics
        runtime = m.frames_dropped if m else 0
        skipped = m.recorder_skipped if m else 0
        text = f"dropped: {runtime} · display skipped: {self.display_coalesced}"
        if skipped:
            text += f" · NOT RECORDED: {skipped}"
        self.dropped.setText(text)
