"""Settings: profile editor, thresholds over the good-score histogram, camera, roles and audit.

Every change here needs the engineer role. The screen asks for the PIN (require_engineer) and
only then emits the change; the main window applies it to the runtime / disk and audits it.
A refused change puts the editor back to what is in force.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget

from resad_station.profiles import Profile
from ui.audit_view import AuditView
from ui.camera_settings import CameraSettings
from ui.pin_dialog import SetPinDialog, require_engineer
from ui.profile_editor import ProfileEditor
from ui.roles import RoleSession
from ui.threshold_editor import ThresholdEditor


class SettingsScreen(QWidget):
    thresholds_changed = Signal(float, float)  # engineer-approved
    profile_saved = Signal(object, str)  # engineer-approved (Profile, YAML text)
    pin_changed = Signal()

    def __init__(self, session: RoleSession, audit: AuditView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.editor = ProfileEditor()
        self.thresholds = ThresholdEditor()
        self.camera = CameraSettings()
        self.audit = audit
        self.tabs = QTabWidget()
        self.tabs.addTab(self.thresholds, "Thresholds")
        self.tabs.addTab(self.editor, "Profile")
        self.tabs.addTab(self.camera, "Camera")
        self.tabs.addTab(self._roles_tab(), "Roles && audit")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)

        self.thresholds.apply_requested.connect(self._apply_thresholds)
        self.editor.save_requested.connect(self._save_profile)
        self.camera.yaml_ready.connect(self._camera_yaml)
        session.role_changed.connect(self._role_changed)
        self._role_changed(session.role)

    def _roles_tab(self) -> QWidget:
        tab = QWidget()
        self.role_label = QLabel()
        login = QPushButton("Log in as engineer…")
        logout = QPushButton("Log out")
        change_pin = QPushButton("Change PIN…")
        login.clicked.connect(lambda: require_engineer(self.session, "Logging in", self))
        logout.clicked.connect(self.session.log_out)
        change_pin.clicked.connect(self._change_pin)
        row = QHBoxLayout()
        row.addWidget(self.role_label, 1)
        for b in (login, logout, change_pin):
            row.addWidget(b)
        layout = QVBoxLayout(tab)
        layout.addLayout(row)
        layout.addWidget(QLabel("Audit: every change to thresholds, profiles, references and labels"))
        layout.addWidget(self.audit, 1)
        return tab

    def load_profile(self, profile: Profile, text: str) -> None:
        source = profile.source_path
        self.editor.load(text, source.name if source else f"{profile.name}.yaml", source)
        self.camera.load(profile)

    def _role_changed(self, role: str) -> None:
        self.role_label.setText(f"Current role: <b>{role}</b> (user {self.session.user})")
        self.audit.refresh()

    def _apply_thresholds(self, t1: float, t2: float) -> None:
        if not require_engineer(self.session, "Changing thresholds", self):
            self.thresholds.reset()
            return
        self.thresholds_changed.emit(t1, t2)

    def _save_profile(self, profile: Profile, text: str) -> None:
        if not require_engineer(self.session, "Saving a profile", self):
            return
        self.profile_saved.emit(profile, text)

    def _camera_yaml(self, text: str) -> None:
        self.editor.text.setPlainText(text)
        self.editor.validate()
        self.tabs.setCurrentWidget(self.editor)

    def _change_pin(self) -> None:
        if not require_engineer(self.session, "Changing the PIN", self):
            return
        if SetPinDialog(self.session, self).exec():
            self.pin_changed.emit()
