"""PIN dialogs: ask for the engineer PIN, or set it the first time."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QMessageBox, QWidget

from ui.roles import PinError, PinLockedError, RoleSession


def _pin_field() -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setMinimumWidth(180)
    return field


class _PinFormDialog(QDialog):
    """A form: an intro line, PIN fields, an error line, OK / Cancel. OK calls _try()."""

    def __init__(self, session: RoleSession, title: str, intro: str, fields: list[tuple[str, QLineEdit]], parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.session = session
        self.error = QLabel("")
        self.error.setStyleSheet("color: #e04040;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._try)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(QLabel(intro))
        for label, field in fields:
            form.addRow(label, field)
        form.addRow(self.error)
        form.addRow(buttons)

    def _try(self) -> None:
        raise NotImplementedError


class PinDialog(_PinFormDialog):
    """Asks for the engineer PIN; accepted only when the session accepts the PIN."""

    def __init__(self, session: RoleSession, reason: str, parent: QWidget | None = None) -> None:
        self.pin = _pin_field()
        super().__init__(session, "Engineer PIN", f"{reason}\nneeds the engineer role.", [("PIN", self.pin)], parent)

    def _try(self) -> None:
        try:
            accepted = self.session.log_in(self.pin.text())
        except PinLockedError as exc:  # backing off after wrong PINs: the PIN was not even checked
            self.error.setText(str(exc))
            self.pin.clear()
            return
        if accepted:
            self.accept()
        else:
            self.error.setText("wrong PIN")
            self.pin.clear()


class SetPinDialog(_PinFormDialog):
    """Change the PIN: the current one, then the new one twice. (The first PIN is set from the terminal.)"""

    def __init__(self, session: RoleSession, parent: QWidget | None = None) -> None:
        self.current = _pin_field()
        self.pin = _pin_field()
        self.again = _pin_field()
        intro = "Change the engineer PIN."
        super().__init__(session, "Change the engineer PIN", intro,
                         [("Current PIN", self.current), ("New PIN", self.pin), ("Again", self.again)], parent)

    def _try(self) -> None:
        if self.pin.text() != self.again.text():
            self.error.setText("the two PINs differ")
            return
        try:
            self.session.pins.set_pin(self.pin.text(), current=self.current.text())
        except PinError as exc:
            self.error.setText(str(exc))
            return
        self.session.log_in(self.pin.text())
        self.accept()


def require_engineer(session: RoleSession, reason: str, parent: QWidget | None = None) -> bool:
    """True when the engineer role is held (asking for the PIN if needed).

    With no PIN set there is no engineer: the first PIN is set only from the terminal
    (`resad-station gui --set-pin`), never by whoever happens to be at the window.
    """
    if session.is_engineer():
        return True
    if not session.pins.is_set():
        QMessageBox.information(parent, "Engineer PIN", f"{reason} needs the engineer role, and no engineer PIN is "
                                "set on this station.\nSet one in a terminal: resad-station gui --set-pin")
        return False
    dialog = PinDialog(session, reason, parent)
    return dialog.exec() == QDialog.DialogCode.Accepted and session.is_engineer()
