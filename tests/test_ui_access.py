"""The GUI side of access control: no first PIN from the window, back-off in the PIN dialog, and the
notice that the profile changed since it last ran."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from ui.main_window import MainWindow  # noqa: E402
from ui.pin_dialog import PinDialog, require_engineer  # noqa: E402
from ui.roles import PinStore, RoleSession  # noqa: E402
from ui.status_bar import StationStatusBar  # noqa: E402


def test_no_first_pin_from_the_window(qtbot, tmp_path):
    session = RoleSession(PinStore(tmp_path), user="olga")
    seen = []

    def close_box():
        box = QApplication.activeModalWidget()
        if box is None:
            QTimer.singleShot(10, close_box)
            return
        seen.append(box.text() if isinstance(box, QMessageBox) else type(box).__name__)
        box.close()

    QTimer.singleShot(0, close_box)
    assert not require_engineer(session, "Changing thresholds")
    assert not session.pins.is_set() and session.role == "operator"
    assert "resad-station gui --set-pin" in seen[0]


def test_the_pin_dialog_backs_off_after_wrong_pins(qtbot, tmp_path):
    pins = PinStore(tmp_path)
    pins.set_pin("246813")
    dialog = PinDialog(RoleSession(pins, user="olga"), "Saving a profile")
    qtbot.addWidget(dialog)
    for _ in range(3):
        dialog.pin.setText("000000")
        dialog._try()
        assert dialog.error.text() == "wrong PIN"
    dialog.pin.setText("246813")
    dialog._try()  # right, but the station is backing off: not checked, not accepted
    assert dialog.error.text().startswith("too many wrong PINs: try again in")
    assert not dialog.session.is_engineer()


def test_a_changed_profile_shows_in_the_status_bar(qtbot):
    class Window:  # the one method under test, on a real status bar
        status = StationStatusBar()

    qtbot.addWidget(Window.status)
    label = MainWindow._profile_notice(Window(), {"profile": "demo", "sha256": "ab" * 32,
                                                  "previous_sha256": "cd" * 32, "path": "/x/demo.yaml"})
    assert "profile demo changed since it last ran" in label.text() and "abababababab" in label.text()
    assert MainWindow._profile_notice(Window(), None) is None
