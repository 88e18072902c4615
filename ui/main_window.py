"""The main window: Live, Review and Settings tabs over one running station.

It owns the wiring: runtime events come in through the RuntimeBridge; user actions go out as
StationLink calls, the slow or writing ones in TaskRunner threads. Keyboard: F2 (or Space while
an alarm shows) acknowledges, F5 / Shift+F5 start / stop, Ctrl+E enroll, Ctrl+1..3 switch tabs,
Ctrl+L logs the engineer out. Window geometry, splitters, tab and opacity persist in QSettings.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget

from ui.audit_view import AuditView
from ui.bridge import RuntimeBridge
from ui.engineer_controls import EngineerControls
from ui.enroll_wizard import EnrollWizard
from resad_station.why import ReferenceShots
from ui.honesty_view import HonestyView
from ui.layout_debounce import LayoutRequestDebounce
from ui.live_screen import LiveScreen
from ui.review_screen import ReviewScreen
from ui.roles import PinStore, RoleSession
from ui.settings_screen import SettingsScreen
from ui.station_link import StationLink
from ui.status_bar import StationStatusBar
from ui.tasks import TaskRunner
from ui.thumbnail_loader import ThumbnailLoader

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    def __init__(self, link: StationLink, settings: QSettings | None = None) -> None:
        super().__init__()
        self.link = link
        self.settings = settings or QSettings("resad-station", "ResAD Station")
        self.setWindowTitle(f"ResAD Station: {link.profile.name}")
        self.runner = TaskRunner(self)
        self.thumbnails = ThumbnailLoader(parent=self)
        self.bridge = RuntimeBridge(parent=self, stages=getattr(link.station, "stages", None))
        self.session = RoleSession(PinStore(link.data_dir), parent=self)
        self.audit = AuditView(link.audit_events)
        self.last_error: BaseException | None = None

        self.live = LiveScreen(self.bridge)
        self.live.why.set_reference_shots(ReferenceShots(link.db))
        self.review = ReviewScreen(link.defects, self.session, self.runner, self.thumbnails)
        self.settings_screen = SettingsScreen(self.session, self.audit)
        self.honesty = HonestyView(link.db)
        self.settings_screen.tabs.addTab(self.honesty, "Station record")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.live, "Live")
        self.tabs.addTab(self.review, "Review")
        self.tabs.addTab(self.settings_screen, "Settings")
        self.setCentralWidget(self.tabs)
        self._layout_debounce = LayoutRequestDebounce(self.tabs)
        self.status = StationStatusBar()
        self.setStatusBar(self.status)
        self.profile_notice = self._profile_notice(getattr(link.station, "profile_change", None))
        # thresholds, profile save, enroll and teach: the same code as each camera's in the multi-camera window
        self.engineer = EngineerControls(link, self.session, self.runner, self.bridge, self.settings_screen, self)

        self._connect()
        self._menus()
        self._refresh_products()
        self._refresh_calibration()
        self.tabs.currentChanged.connect(self._tab_changed)
        self._restore_layout()
        link.add_listener(self.bridge)

    def _profile_notice(self, change: dict | None) -> QLabel | None:
        """The profile differs from the one this station last ran (edited or shadowed): say so, it is audited."""
        if not change:
            return None
        label = QLabel(f"<b style='color:#e0a020'>profile {change['profile']} changed since it last ran</b> "
                       f"(sha256 {change['sha256'][:12]}, was {change['previous_sha256'][:12]}; see the audit)")
        label.setToolTip(change.get("path") or "")
        self.status.addPermanentWidget(label)
        return label

    # -- wiring --
    def _connect(self) -> None:
        b, live = self.bridge, self.live
        b.camera_state.connect(self.status.set_camera_state)
        b.output_state.connect(self.status.set_output_state)
        b.metrics.connect(self._metrics)
        b.frame_ready.connect(lambda: self.status.set_display_coalesced(b.coalesced))
        b.alarm.connect(self._alarm_changed)
        live.start_requested.connect(self.start)
        live.stop_requested.connect(self.stop)
        live.product_selected.connect(self._switch_product)
        live.acknowledge_requested.connect(self.acknowledge)
        self.review.teach_requested.connect(self.engineer.teach)
        self.engineer.changed.connect(self._changed)
        self.engineer.failed.connect(self._error)
        self.engineer.busy.connect(self.status.showMessage)
        self.session.role_changed.connect(self.status.set_role)

    def _menus(self) -> None:
        station = self.menuBar().addMenu("&Station")
        for text, keys, slot in (
            ("&Start", "F5", self.start),
            ("S&top", "Shift+F5", self.stop),
            ("&Acknowledge alarm", "F2", self.acknowledge),
            ("&Enroll product…", "Ctrl+E", self.open_enroll_wizard),
            ("&Log out engineer", "Ctrl+L", self.session.log_out),
            ("&Quit", "Ctrl+Q", self.close),
        ):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            station.addAction(action)
            self.addAction(action)
        for i in range(3):
            QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self, activated=lambda i=i: self.tabs.setCurrentIndex(i))
        # Space acknowledges only while an alarm shows, so it never steals Space from buttons otherwise.
        self.space_ack = QShortcut(QKeySequence(Qt.Key.Key_Space), self, activated=self.acknowledge)
        self.space_ack.setEnabled(False)

    # -- runtime control --
    def start(self) -> None:
        self.link.start()
        self.live.set_running(True)

    def stop(self) -> None:
        self.runner.submit(self.link.stop, name="stop", on_done=lambda _r: self.live.set_running(False))

    def acknowledge(self) -> None:
        if self.live.banner.active:
            self.link.acknowledge_alarm(self.session.actor)

    def _alarm_changed(self, _event) -> None:
        self.space_ack.setEnabled(self.live.banner.active)

    def _metrics(self, metrics) -> None:
        self.status.set_metrics(metrics)

    def _switch_product(self, name: str) -> None:
        self.status.showMessage(f"switching to {name}…", 5000)
        self.runner.submit(self.link.switch_product, name, self.session.actor, name="switch",
                           on_done=lambda _r: self._after_switch(), on_error=self._error)

    def _after_switch(self) -> None:
        self._refresh_products()
        self._refresh_calibration()
        self.live.trend.clear()

    def _refresh_products(self) -> None:
        names = self.link.product_names()
        self.live.set_products(names, self.link.product)
        self.review.set_products(names)

    def _refresh_calibration(self) -> None:
        t1, t2 = self.link.thresholds()
        good = self.link.good_scores()
        self.live.set_thresholds(t1, t2)
        self.live.set_good_scores(good)
        self.engineer.refresh()

    # -- engineer actions: EngineerControls runs them; the window shows what they changed --
    def open_enroll_wizard(self) -> EnrollWizard | None:
        return self.engineer.open_enroll_wizard()

    @property
    def enroll_wizard(self) -> EnrollWizard | None:
        return self.engineer.enroll_wizard  # the last one opened (a screenshot draws it in place)

    def _changed(self, message: str) -> None:
        self.status.showMessage(message, 10_000)
        self._refresh_products()
        self._refresh_calibration()
        self.audit.refresh()
        self.review.model.refresh()

    def _error(self, exc: BaseException) -> None:
        log.error("station action failed: %s", exc)
        self.last_error = exc
        self.status.showMessage(f"FAILED: {exc}", 30_000)  # not a modal box: the live view must keep running

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.review and self.review.model.total == 0:
            self.review.apply_filter()
        if self.tabs.widget(index) is self.settings_screen:
            self.audit.refresh()
            self.honesty.refresh()

    # -- layout persistence and shutdown --
    def _restore_layout(self) -> None:
        s = self.settings
        if isinstance(geometry := s.value("window/geometry"), QByteArray):
            self.restoreGeometry(geometry)
        else:  # first start: most of the screen it opens on, centred
            screen = (self.screen() or QGuiApplication.primaryScreen()).availableGeometry()
            self.resize(int(screen.width() * 0.9), int(screen.height() * 0.9))
            self.move(screen.center() - self.rect().center())
        for key, splitter in self._splitters().items():
            if isinstance(state := s.value(f"splitters/{key}"), QByteArray):
                splitter.restoreState(state)
        self.tabs.setCurrentIndex(int(s.value("window/tab", 0)))
        self.live.opacity.setValue(int(s.value("live/opacity", 60)))

    def _save_layout(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        for key, splitter in self._splitters().items():
            s.setValue(f"splitters/{key}", splitter.saveState())
        s.setValue("window/tab", self.tabs.currentIndex())
        s.setValue("live/opacity", self.live.opacity.value())
        s.sync()

    def _splitters(self) -> dict:
        return {"live": self.live.splitter, "live_top": self.live.top_splitter, "review": self.review.splitter}

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self._save_layout()
        self.link.remove_listener(self.bridge)
        self.bridge.close()
        self.link.close()  # stops capture, inspection and recorder threads
        self.runner.wait()
        self.thumbnails.stop()
        super().closeEvent(event)
