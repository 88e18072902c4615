"""A steady coloured strip with one wrapped line of white text, hidden until there is something to say.

The Live screen's warnings that are not alarms (drift, a camera's set-up) are strips like this:
each its own colour, none blinking, none to acknowledge.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget


class Strip(QFrame):
    def __init__(self, name: str, colour: str, border: str, font_pt: int, bold: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        weight = " font-weight: bold;" if bold else ""
        self.setStyleSheet(f"QFrame#{name} {{ background: {colour}; border: 2px solid {border}; }} "
                           f"QLabel {{ color: white; font-size: {font_pt}pt;{weight} }}")
        self.text = QLabel()
        self.text.setWordWrap(True)
        QHBoxLayout(self).addWidget(self.text, 1)
        self.hide()
