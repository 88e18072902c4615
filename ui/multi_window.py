"""The window of a station with several cameras: a camera grid, each camera's live screen, Review,
and each camera's Settings.

The Cameras tab shows a tile per camera; a click opens that camera's full live screen (the same
LiveScreen as a one-camera station: heatmap, badge, trend, alarm banner, product choice), and
"All cameras" goes back. Review lists every camera's defects, with the camera filter; T teaches
a defect as good on the camera that logged it. Settings has a tab per camera (the one-camera
window's SettingsScreen over that camera's profile: thresholds, profile, camera, roles and
audit) and the Station record. Each camera's changes, its enroll wizard and its teach go
through its own EngineerControls, so they reach that camera only; one engineer session (PIN)
serves them all, and every change is audited as in the one-camera window. The status bar sums
the cameras up: how many are connected, frames inspected per second, the worst p95 latency,
drops, verdict counts and alarms. F2 acknowledges the open camera's alarm (on the grid: every
camera's); F5 / Shift+F5 start / stop the whole station; Ctrl+E enrolls on the camera whose
Settings tab shows, else on the open camera; Ctrl+L logs the engineer out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QPushButton, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from resad_station.runtime.events import CameraStatus, Metrics
from resad_station.runtime.multi_station import MultiStation
from ui.audit_view import AuditView
from ui.bridge import RuntimeBridge
from ui.camera_grid import TILE_MAX_SIDE, CameraGrid, CameraTile
from ui.engineer_controls import EngineerControls
from ui.enroll_wizard import EnrollWizard
from ui.honesty_view import HonestyView
from ui.layout_debounce import LayoutRequestDebounce
from ui.live_screen import LiveScreen
from ui.review_screen import ReviewScreen
from ui.roles import PinStore, RoleSession
from ui.settings_screen import SettingsScreen
from ui.station_link import StationLink
from ui.tasks import TaskRunner
from ui.thumbnail_loader import ThumbnailLoader


class MultiCameraWindow(QMainWindow):
    def __init__(self, line: MultiStation) -> None:
        super().__init__()
        self.line = line
        self.setWindowTitle(f"ResAD Station: {len(line.stations)} cameras")
        self.runner = TaskRunner(self)
        self.thumbnails = ThumbnailLoader(parent=self)
        self.session = RoleSession(PinStore(line.stations[0].data_dir), parent=self)
        self.links = {s.profile.camera.name: StationLink(s) for s in line.stations}
        self.metrics: dict[str, Metrics] = {}
        self.states: dict[str, CameraStatus] = {}
        self.alarms: dict[str, bool] = {}
        self.last_error: BaseException | None = None
        self.enroll_wizard: EnrollWizard | None = None
        self.settings_tabs = QTabWidget()  # a SettingsScreen per camera, then the station record
        self.settings: dict[str, SettingsScreen] = {}
        self.engineers: dict[str, EngineerControls] = {}

        tiles, self.screens = [], {}
        self._bridges: list[RuntimeBridge] = []
        self.stack = QStackedWidget()
        for camera, link in self.links.items():
            tile_bridge, full_bridge = RuntimeBridge(max_side=TILE_MAX_SIDE, parent=self), RuntimeBridge(parent=self)
            tiles.append(CameraTile(camera, tile_bridge))
            tile_bridge.metrics.connect(self._metrics)
            tile_bridge.camera_state.connect(self._camera_state)
            tile_bridge.alarm.connect(self._alarm)
            screen = LiveScreen(full_bridge)
            screen.acknowledge_requested.connect(lambda c=camera: self.acknowledge(c))
            screen.product_selected.connect(lambda name, c=camera: self._switch_product(c, name))
            screen.start_requested.connect(self.start)
            screen.stop_requested.connect(self.stop)
            self.screens[camera] = screen
            self._camera_settings(camera, link, full_bridge)
            link.add_listener(tile_bridge)
            link.add_listener(full_bridge)
            self._bridges += [tile_bridge, full_bridge]
        self.grid = CameraGrid(tiles)
        self.grid.camera_clicked.connect(self.open_camera)
        self.stack.addWidget(self.grid)
        for screen in self.screens.values():
            self.stack.addWidget(screen)
        self.back = QPushButton("◀ All cameras")
        self.back.clicked.connect(self.show_grid)
        self.where = QLabel("")
        bar = QHBoxLayout()
        bar.addWidget(self.back)
        bar.addWidget(self.where, 1)
        cameras = QWidget()
        layout = QVBoxLayout(cameras)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        self.review = ReviewScreen(next(iter(self.links.values())).defects, self.session, self.runner, self.thumbnails)
        self.review.teach_requested.connect(self._teach)
        self.honesty = HonestyView(line.db)
        self.settings_tabs.addTab(self.honesty, "Station record")
        self.tabs = QTabWidget()
        self.tabs.addTab(cameras, "Cameras")
        self.tabs.addTab(self.review, "Review")
        self.tabs.addTab(self.settings_tabs, "Settings")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.setCentralWidget(self.tabs)
        self._layout_debounce = LayoutRequestDebounce(self.tabs)  # as in the one-camera window
        self.summary = QLabel("")
        self.statusBar().addPermanentWidget(self.summary)
        self._menus()
        self._refresh_cameras()
        self.show_grid()

    def _camera_settings(self, camera: str, link: StationLink, bridge: RuntimeBridge) -> None:
        """The camera's Settings tab and the engineer actions over its own link."""
        screen = SettingsScreen(self.session, AuditView(link.audit_events))
        engineer = EngineerControls(link, self.session, self.runner, bridge, screen, self, camera=camera)
        engineer.changed.connect(self._changed)
        engineer.failed.connect(self._error)
        engineer.busy.connect(self.statusBar().showMessage)
        self.settings[camera], self.engineers[camera] = screen, engineer
        self.settings_tabs.addTab(screen, camera)

    def _menus(self) -> None:
        menu = self.menuBar().addMenu("&Station")
        for text, keys, slot in (("&Start", "F5", self.start), ("S&top", "Shift+F5", self.stop),
                                 ("&Acknowledge alarm", "F2", lambda: self.acknowledge(self.open_camera_name)),
                                 ("&Enroll product on this camera…", "Ctrl+E", lambda: self.open_enroll_wizard()),
                                 ("&Log out engineer", "Ctrl+L", self.session.log_out),
                                 ("&All cameras", "Escape", self.show_grid), ("&Quit", "Ctrl+Q", self.close)):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            menu.addAction(action)
            self.addAction(action)

    def _refresh_cameras(self) -> None:
        for camera, link in self.links.items():
            screen = self.screens[camera]
            screen.set_products(link.product_names(), link.product)
            screen.set_thresholds(*link.thresholds())
            screen.set_good_scores(link.good_scores())
            self.engineers[camera].refresh()
        self.review.set_products(sorted({link.product for link in self.links.values()}))

    # -- navigation --
    @property
    def open_camera_name(self) -> str | None:
        for camera, screen in self.screens.items():
            if self.stack.currentWidget() is screen:
                return camera
        return None

    def open_camera(self, camera: str) -> None:
        self.stack.setCurrentWidget(self.screens[camera])
        self.back.setVisible(True)
        self.where.setText(f"<b>{camera}</b> · {self.links[camera].product}")

    @property
    def chosen_camera(self) -> str | None:
        """The camera an engineer action is for: the one whose Settings tab shows, else the open live screen's."""
        if self.tabs.currentWidget() is self.settings_tabs:
            shown = self.settings_tabs.currentWidget()
            return next((c for c, screen in self.settings.items() if screen is shown), None)
        return self.open_camera_name

    def show_grid(self) -> None:
        self.stack.setCurrentWidget(self.grid)
        self.back.setVisible(False)
        self.where.setText(f"{len(self.links)} cameras: click one to open it")

    # -- runtime --
    def start(self) -> None:
        if self.line.scheduler is None:
            self.line.start()
        for screen in self.screens.values():
            screen.set_running(True)

    def stop(self) -> None:
        def stopped(_r) -> None:
            for screen in self.screens.values():
                screen.set_running(False)

        self.runner.submit(self.line.stop, name="stop", on_done=stopped)

    def acknowledge(self, camera: str | None) -> None:
        for name in ([camera] if camera else list(self.links)):
            self.links[name].acknowledge_alarm(self.session.actor)

    def _switch_product(self, camera: str, product: str) -> None:
        self.runner.submit(self.links[camera].switch_product, product, self.session.actor, name="switch",
                           on_done=lambda _r: self._refresh_cameras(),
                           on_error=lambda e: self.statusBar().showMessage(f"switch failed: {e}", 10000))

    # -- engineer actions: each camera's EngineerControls (PIN, worker thread, audit) --
    def open_enroll_wizard(self, camera: str | None = None) -> EnrollWizard | None:
        camera = camera or self.chosen_camera
        if camera is None:
            self.statusBar().showMessage("enroll: open a camera (or its Settings tab) first", 10_000)
            return None
        self.enroll_wizard = self.engineers[camera].open_enroll_wizard()  # a screenshot draws it in place
        return self.enroll_wizard

    def _teach(self, row) -> None:
        engineer = self.engineers.get(row.camera) if row.station == self.line.db.station else None
        if engineer is None:  # a defect another station's camera logged (a plant's shared database)
            self.statusBar().showMessage(f"defect #{row.id} is from {row.station or '-'} / {row.camera}, not a camera of this station", 10_000)
            return
        engineer.teach(row)

    def _changed(self, message: str) -> None:
        self.statusBar().showMessage(message, 10_000)
        self._refresh_cameras()
        self.review.model.refresh()

    def _error(self, exc: BaseException) -> None:
        self.last_error = exc
        self.statusBar().showMessage(f"FAILED: {exc}", 30_000)  # not a modal box: inspection goes on

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.review:
            self.review.refresh_cameras()  # cameras that logged their first defect since
            self.review.apply_filter()
        elif self.tabs.widget(index) is self.settings_tabs:
            for screen in self.settings.values():
                screen.audit.refresh()
            self.honesty.refresh()

    def _metrics(self, m: Metrics) -> None:
        self.metrics[m.camera] = m
        self._paint_summary()

    def _camera_state(self, state) -> None:
        self.states[state.camera] = state.status
        self._paint_summary()

    def _alarm(self, event) -> None:
        self.alarms[event.camera] = event.status.value == "raised"
        self._paint_summary()

    def _paint_summary(self) -> None:
        ms = list(self.metrics.values())
        connected = sum(s is CameraStatus.CONNECTED for s in self.states.values())
        counts = {v: sum(m.counts.get(v, 0) for m in ms) for v in ("pass", "uncertain", "fail")}
        alarms = [c for c, on in self.alarms.items() if on]
        text = (f"{len(self.links)} cameras · {connected} connected · {sum(m.fps for m in ms):.1f} fps inspected · "
                f"worst p95 {max((m.latency_p95_ms for m in ms), default=0):.0f} ms · "
                f"dropped {sum(m.frames_dropped for m in ms)} · "
                + " ".join(f"{k}: {v}" for k, v in counts.items()))
        if alarms:
            text += f" · <span style='color:#e04040'><b>ALARM: {', '.join(sorted(alarms))}</b></span>"
        self.summary.setText(text)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.runner.wait()
        for bridge in self._bridges:
            bridge.close()
        self.line.stop()
        self.thumbnails.stop()
        super().closeEvent(event)


def run_multi_app(args: argparse.Namespace, profiles: list[str]) -> int:
    """`gui --profile A --profile B ...` / `gui --line FILE`: the multi-camera window."""
    from ui.app import grab_window, make_app, quit_on_ctrl_c

    app = make_app()
    print(f"opening {len(profiles)} cameras (loading the engine, enrolling on first run)…", file=sys.stderr)
    try:
        line = MultiStation.open(profiles, args.data_dir, args.db_url)
    except Exception as exc:  # noqa: BLE001 (a start-up failure is told in one line, not a traceback)
        print(f"resad-station gui: cannot open the cameras: {exc}", file=sys.stderr)
        return 1
    window = MultiCameraWindow(line)
    quit_on_ctrl_c(window)
    window.show()
    window.start()
    if args.tab == "enroll":  # on the first camera (Ctrl+E enrolls on whichever is chosen)
        QTimer.singleShot(0, lambda: window.open_enroll_wizard(line.cameras[0]))
    elif args.tab:
        window.tabs.setCurrentIndex({"live": 0, "review": 1, "settings": 2}[args.tab])
    if args.quit_after or args.screenshot:
        def finish() -> None:
            if args.screenshot:
                grab_window(window, Path(args.screenshot))
            window.close()

        QTimer.singleShot(int((args.quit_after or 6.0) * 1000), finish)
    app.exec()
    line.close()
    return 0
