"""Status bar: camera state, fps, p95 latency, dropped frames (runtime + display), line outputs, role."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from resad_station.runtime.events import CameraState, CameraStatus, Metrics

_CAMERA_COLOUR = {
    CameraStatus.CONNECTED: "#2bb24c",
    CameraStatus.CONNECTING: "#c7a400",
    CameraStatus.RECONNECTING: "#e07000",
    CameraStatus.FAILED: "#d02020",
}


_OUTPUT_COLOUR = {"connected": "#2bb24c", "connecting": "#c7a400", "reconnecting": "#e07000", "failed": "#d02020"}


class StationStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.camera = QLabel("camera: -")
        self.fps = QLabel("fps: -")
        self.latency = QLabel("p95: -")
        self.dropped = QLabel("dropped: 0")
        self.counts = QLabel("")
        self.outputs = QLabel("")
        self.role = QLabel("operator")
        for label in (self.camera, self.fps, self.latency, self.dropped, self.counts, self.outputs, self.role):
            label.setStyleSheet("padding: 0 10px; font-size: 11pt;")
            self.addPermanentWidget(label)
        self.display_coalesced = 0
        self._metrics: Metrics | None = None
        self._outputs: dict[str, str] = {}  # output name -> its rich text

    def set_camera_state(self, state: CameraState) -> None:
        colour = _CAMERA_COLOUR.get(state.status, "#888888")
        reason = f" ({state.reason})" if state.reason else ""
        self.camera.setText(f"<span style='color:{colour}'>●</span> {state.camera}: {state.status.value}{reason}")

    def set_metrics(self, m: Metrics) -> None:
        self.fps.setText(f"fps: {m.fps:.1f}")
        self.latency.setText(f"p95: {m.latency_p95_ms:.0f} ms")
        self._metrics = m
        self._paint_dropped()
        self.counts.setText(" ".join(f"{k}: {v}" for k, v in sorted(m.counts.items())))

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
