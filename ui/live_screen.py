"""The live screen: picture with heatmap, verdict badge, score trend, score histogram, alarm banner.

Two pictures, never mixed: the large one is the last INSPECTED frame with its heatmap (it changes
at the inspection's pace), the side one is the LIVE camera (up to 30 fps, whatever inspection
does). Painting the last map onto a newer frame would put a stale heatmap on a different part.
It only displays and asks: start / stop / product changes / acknowledge are signals that the main
window turns into runtime calls. Frames come from the RuntimeBridge (already downscaled).
"""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from resad_station.runtime.events import AlarmEvent, CameraState, CameraStatus
from ui.alarm_banner import AlarmBanner
from ui.drift_banner import DriftBanner
from ui.notice_banner import NoticeBanner
from ui.live_why import LiveWhy
from ui.bridge import LiveFrame, LivePreview, RuntimeBridge
from ui.live_feed import LiveFeedView
from ui.live_view import LiveImageView
from ui.score_histogram import ScoreHistogram
from ui.score_trend import ScoreTrendPlot
from ui.verdict_badge import VerdictBadge

HISTOGRAM_REFRESH_MS = 1000


class LiveScreen(QWidget):
    start_requested = Signal()
    stop_requested = Signal()
    product_selected = Signal(str)
    acknowledge_requested = Signal()

    def __init__(self, bridge: RuntimeBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.frames_shown = 0
        self.previews_shown = 0
        self.last_frame: LiveFrame | None = None
        self.last_preview: LivePreview | None = None

        self.product = QComboBox()
        self.product.setMinimumWidth(200)
        self.product.activated.connect(lambda _i: self.product_selected.emit(self.product.currentText()))
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.start_button.clicked.connect(self.start_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        fit_button = QPushButton("Fit")
        fit_button.setToolTip("Fit the frame to the view (or double-click the picture)")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setMaximumWidth(180)
        self.opacity.setToolTip("Heatmap opacity")
        self.frame_info = QLabel("")

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Product"))
        bar.addWidget(self.product)
        bar.addWidget(self.start_button)
        bar.addWidget(self.stop_button)
        bar.addSpacing(20)
        bar.addWidget(QLabel("Heatmap"))
        bar.addWidget(self.opacity)
        bar.addWidget(fit_button)
        bar.addStretch(1)
        bar.addWidget(self.frame_info)

        self.banner = AlarmBanner()
        self.banner.acknowledge_requested.connect(self.acknowledge_requested)
        self.drift_banner = DriftBanner()
        self.notice_banner = NoticeBanner()
        self.view = LiveImageView()
        fit_button.clicked.connect(self.view.fit)
        self.opacity.valueChanged.connect(self._opacity_changed)
        self.badge = VerdictBadge()
        self.histogram = ScoreHistogram()
        self.trend = ScoreTrendPlot()
        self.feed = LiveFeedView()  # the live camera
        self.feed.setMinimumHeight(160)
        self.feed_info = QLabel("live camera")
        self.feed_info.setToolTip("The camera as it is now; the large picture is the last inspected frame")

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.feed_info)
        side_layout.addWidget(self.feed, 1)
        side_layout.addWidget(self.badge)
        side_layout.addWidget(self.histogram, 1)
        self.why = LiveWhy(self)  # click the inspected picture: that region against its reference
        side_layout.addWidget(self.why.panel)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.view)
        top.addWidget(side)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.trend)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.top_splitter = top

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.banner)
        layout.addWidget(self.drift_banner)
        layout.addWidget(self.notice_banner)
        layout.addWidget(self.splitter, 1)

        bridge.frame_ready.connect(self._take_frame)
        bridge.preview_ready.connect(self._take_preview)
        bridge.alarm.connect(self.on_alarm)
        bridge.drift.connect(self.drift_banner.on_drift)
        bridge.drift.connect(self.trend.drift_marks.on_drift)
        bridge.notice.connect(self.notice_banner.on_notice)
        bridge.camera_state.connect(self.on_camera_state)
        self._hist_timer = QTimer(self)
        self._hist_timer.timeout.connect(self._refresh_histogram)
        self._hist_timer.start(HISTOGRAM_REFRESH_MS)
        self.set_running(False)

    # -- inputs from the main window --
    def set_products(self, names: Sequence[str], current: str) -> None:
        self.product.blockSignals(True)
        self.product.clear()
        self.product.addItems(list(names))
        self.product.setCurrentText(current)
        self.product.blockSignals(False)

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        if not running:
            self.badge.set_idle("STOPPED")

    def set_thresholds(self, t_uncertain: float, t_fail: float) -> None:
        self.trend.set_thresholds(t_uncertain, t_fail)
        self.histogram.set_thresholds(t_uncertain, t_fail)

    def set_good_scores(self, scores: Sequence[float]) -> None:
        self.histogram.set_good_scores(scores)

    def on_alarm(self, event: AlarmEvent) -> None:
        self.banner.on_alarm(event)

    def on_camera_state(self, state: CameraState) -> None:
        self.view.set_camera_state(state)
        self.feed.set_camera_state(state)
        if state.status != CameraStatus.CONNECTED:  # never leave a stale verdict up
            self.badge.set_idle(state.status.value.upper())

    # -- frames --
    def _take_frame(self) -> None:
        frame = self.bridge.take_frame()
        self.trend.add_points(self.bridge.take_scores())
        if frame is None:
            return
        self.last_frame = frame
        self.frames_shown += 1
        with self.bridge.stages.timer("paint"):  # the upload to the view; Qt paints it in the next pass
            self.view.show_frame(frame)
        self.badge.set_verdict(frame.verdict, frame.score, frame.reason)
        if (frame.t_uncertain, frame.t_fail) != (self.trend.t1_line.value(), self.trend.t2_line.value()):
            self.set_thresholds(frame.t_uncertain, frame.t_fail)
        name = frame.source_name.rsplit("/", 1)[-1]
        self.frame_info.setText(f"inspected: frame {frame.frame_index}  {name}  {frame.latency_ms:.0f} ms")

    def _take_preview(self) -> None:
        preview = self.bridge.take_preview()
        if preview is None:
            return
        self.last_preview = preview
        self.previews_shown += 1
        with self.bridge.stages.timer("paint_preview"):
            self.feed.show_picture(preview.image)
        self.feed_info.setText(f"live camera: frame {preview.frame_index}")

    def _opacity_changed(self, value: int) -> None:
        self.bridge.opacity = value / 100.0  # next frames are blended at the new value in the runtime thread
        self.view.set_opacity(value / 100.0)

    def _refresh_histogram(self) -> None:
        if self.isVisible():
            self.histogram.set_recent_scores(self.trend.recent_scores())
