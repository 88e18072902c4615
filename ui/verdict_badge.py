"""The verdict badge: PASS / UNCERTAIN / FAIL in text large enough to read from across the line."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from resad_station.runtime.events import Verdict

VERDICT_STYLE = {
    Verdict.PASS: ("PASS", "#1d8f3a"),
    Verdict.UNCERTAIN: ("UNCERTAIN", "#c77d00"),
    Verdict.FAIL: ("FAIL", "#c81e1e"),
}


class VerdictBadge(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumHeight(96)
        self.verdict: Verdict | None = None
        self.set_idle("WAITING")

    def set_idle(self, text: str) -> None:
        self.verdict = None
        self._paint(text, "", "#444444")

    def set_verdict(self, verdict: Verdict, score: float) -> None:
        self.verdict = verdict
        text, colour = VERDICT_STYLE[verdict]
        self._paint(text, f"score {score:.3g}", colour)

    def _paint(self, text: str, detail: str, colour: str) -> None:
        small = f"<div style='font-size:16pt'>{detail}</div>" if detail else ""
        self.setText(f"<div style='font-size:44pt; font-weight:bold'>{text}</div>{small}")
        self.setStyleSheet(f"background: {colour}; color: white; border-radius: 8px; padding: 4px 12px;")
