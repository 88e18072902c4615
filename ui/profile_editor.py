"""Profile editor: YAML text that is validated as you type, errors shown inline on their lines.

Validation is the profiles package's own (validate_profile_text), so the editor accepts exactly
what the station will load. Saving is a request (`save_requested`): the settings screen checks
the role and writes the file off the UI thread.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor, QFontDatabase, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QTextEdit, QVBoxLayout, QWidget

from resad_station.profiles import Profile, ProfileError, validate_profile_text

VALIDATE_DELAY_MS = 250  # validate after a short pause in typing, not on every key


class ProfileEditor(QWidget):
    save_requested = Signal(object, str)  # (validated Profile, YAML text)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_name = "profile.yaml"
        self.source_path: Path | None = None
        self.profile: Profile | None = None  # the last valid version of the text
        self.error: ProfileError | None = None
        self.text = QPlainTextEdit()
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(self.status.textInteractionFlags() | self.status.textInteractionFlags().TextSelectableByMouse)
        self.save_button = QPushButton("Save profile…")
        self.save_button.clicked.connect(self._save)
        self.revert_button = QPushButton("Revert")
        self.revert_button.clicked.connect(self.revert)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._saved_text = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.validate)
        self.text.textChanged.connect(lambda: self._timer.start(VALIDATE_DELAY_MS))

    def load(self, text: str, source_name: str, source_path: Path | None = None) -> None:
        self.source_name = source_name
        self.source_path = source_path
        self._saved_text = text
        self.text.setPlainText(text)
        self.validate()

    def revert(self) -> None:
        self.text.setPlainText(self._saved_text)
        self.validate()

    def mark_saved(self) -> None:
        self._saved_text = self.text.toPlainText()

    def validate(self) -> bool:
        self._timer.stop()
        try:
            self.profile = validate_profile_text(self.text.toPlainText(), self.source_name, self.source_path)
        except ProfileError as exc:
            self.error = exc
            self.profile = None
            self.status.setText(str(exc))
            self.status.setStyleSheet("color: #ff6060; font-weight: bold;")
            self._underline([i.line for i in exc.issues if i.line])
            self.save_button.setEnabled(False)
            return False
        self.error = None
        p = self.profile
        self.status.setText(f"valid: product {p.product}, camera {p.camera.kind} {p.camera.uri}")
        self.status.setStyleSheet("color: #40c060;")
        self._underline([])
        self.save_button.setEnabled(True)
        return True

    def _underline(self, lines: list[int]) -> None:
        marks = []
        for line in sorted(set(lines)):
            block = self.text.document().findBlockByNumber(line - 1)
            if not block.isValid():
                continue
            sel = QTextEdit.ExtraSelection()
            fmt = QTextCharFormat()
            fmt.setBackground(QColor(255, 60, 60, 70))
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(QColor("#ff3030"))
            fmt.setProperty(QTextFormat.Property.FullWidthSelection, True)
            sel.format = fmt
            sel.cursor = QTextCursor(block)
            marks.append(sel)
        self.text.setExtraSelections(marks)

    def _save(self) -> None:
        if self.validate() and self.profile is not None:
            self.save_requested.emit(self.profile, self.text.toPlainText())
