"""One camera's engineer actions: thresholds, profile save, the enroll wizard, teach as good.

The Settings screen asks for the engineer PIN before it emits a change, and the wizard and teach
ask here (require_engineer); the change then runs in a TaskRunner thread through the camera's
StationLink, which applies and audits it. The one-camera window has one of these; the
multi-camera window one per camera, each over that camera's link, Settings screen and live
bridge, so a change reaches its camera only.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from ui.bridge import RuntimeBridge
from ui.enroll_wizard import EnrollWizard
from ui.pin_dialog import require_engineer
from ui.roles import RoleSession
from ui.settings_screen import SettingsScreen
from ui.station_link import StationLink
from ui.tasks import TaskRunner


class EngineerControls(QObject):
    changed = Signal(str)  # a change landed (a status message); the window refreshes what shows it
    failed = Signal(object)  # the exception of a change that failed
    busy = Signal(str)  # a slow change started (a status message)

    def __init__(self, link: StationLink, session: RoleSession, runner: TaskRunner, bridge: RuntimeBridge,
                 settings_screen: SettingsScreen, window: QWidget, camera: str = "") -> None:
        super().__init__(window)
        self.link = link
        self.session = session
        self.runner = runner
        self.bridge = bridge  # the camera's live frames, for enrolling from the camera
        self.settings_screen = settings_screen
        self.window = window  # the PIN dialog's and the wizard's parent
        self.camera = camera  # named in a multi-camera window's messages and wizard title
        self.prefix = f"{camera}: " if camera else ""
        self.enroll_wizard: EnrollWizard | None = None
        s = settings_screen
        s.thresholds_changed.connect(self.apply_thresholds)
        s.profile_saved.connect(self.save_profile)
        s.pin_changed.connect(lambda: self.audit("pin_changed", {}))
        s.load_profile(link.profile, link.profile_text())
        self.refresh()

    def refresh(self) -> None:
        """The threshold editor shows what is in force for this camera, over its good scores."""
        editor = self.settings_screen.thresholds
        editor.set_good_scores(self.link.good_scores())
        editor.set_current(*self.link.thresholds())

    # -- changes (the Settings screen checked the role before emitting them) --
    def apply_thresholds(self, t1: float, t2: float) -> None:
        self.runner.submit(self.link.set_thresholds, t1, t2, self.session.actor, name="thresholds",
                           on_done=lambda _r: self._changed(f"thresholds set: T1 {t1:.4g}, T2 {t2:.4g}"),
                           on_error=self.failed.emit)

    def save_profile(self, profile, text: str) -> None:
        self.runner.submit(self.link.save_profile, profile, text, self.session.actor, name="profile",
                           on_done=self._profile_saved, on_error=self.failed.emit)

    def _profile_saved(self, path) -> None:
        self.settings_screen.editor.mark_saved()
        self._changed(f"profile saved to {path}")

    def teach(self, row) -> None:
        if not require_engineer(self.session, "Teaching an image as good", self.window):
            return
        self.busy.emit(f"{self.prefix}teaching defect #{row.id} as good (rebuilding references)…")
        self.runner.submit(self.link.teach_as_good, row.id, self.session.actor, name="teach",
                           on_done=lambda v: self._changed(f"defect #{row.id} taught as good: reference set v{v}"),
                           on_error=self.failed.emit)

    def open_enroll_wizard(self) -> EnrollWizard | None:
        if not require_engineer(self.session, "Enrolling a product", self.window):
            return None
        link = self.link
        wizard = EnrollWizard(self.runner, link.enroll_backend(self.session.actor), link.product_names(),
                              link.profiles(), link.product, self.bridge, link.profile.engine.shots, self.window)
        if self.camera:
            wizard.setWindowTitle(f"Enroll a product on camera {self.camera}")
        wizard.finished.connect(
            lambda _r: self._changed(f"enrolled: version {wizard.saved_version}") if wizard.saved_version else None)
        wizard.open()  # window-modal but not blocking: the live view keeps running behind it
        self.enroll_wizard = wizard
        return wizard

    def audit(self, action: str, details: dict) -> None:
        self.runner.submit(self.link.audit, self.session.actor, action, details, name="audit",
                           on_done=lambda _r: self.settings_screen.audit.refresh())

    def _changed(self, message: str) -> None:
        self.refresh()
        self.settings_screen.audit.refresh()
        self.changed.emit(self.prefix + message)
