"""The verdict badge: PASS / UNCERTAIN / FAIL in text large enough to read from across the line."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QResizeEvent
from PySide6.QtWidgets import QLabel, QWidget

from resad_station.runtime.events import Verdict

VERDICT_STYLE = {
    Verdict.PASS: ("PASS", "#1d8f3a"),
    Verdict.UNCERTAIN: ("UNCERTAIN", "#c77d00"),
    Verdict.FAIL: ("FAIL", "#c81e1e"),
}

TITLE_PT = 44  # the size the title is shown at whenever it fits
MIN_TITLE_PT = 12  # never smaller than this, even in a very narrow side panel
DETAIL_PT = 16
FIT_MARGIN_PX = 4  # spare pixels inside the padding: rich-text layout adds a little to the advance


class VerdictBadge(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumHeight(96)
        self.verdict: Verdict | None = None
        self.title = ""
        self.title_pt = TITLE_PT  # the point size the title is currently drawn at
        self._detail = ""
        self._colour = ""
        self.set_idle("WAITING")

    def set_idle(self, text: str) -> None:
        self.verdict = None
        self._paint(text, "", "#444444")

    def set_verdict(self, verdict: Verdict, score: float, reason: str = "") -> None:
        """reason: why a whole-frame check failed the frame (part missing, unlike the references)."""
        self.verdict = verdict
        text, colour = VERDICT_STYLE[verdict]
        self._paint(text, f"{reason} · score {score:.3g}" if reason else f"score {score:.3g}", colour)

    @property
    def detail(self) -> str:
        return self._detail

    def title_font(self, point_size: float) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(point_size)
        return font

    def fitted_title_pt(self, width: int | None = None) -> int:
        """Largest point size <= TITLE_PT at which the title fits `width` (default: the contents width)."""
        if width is None:
            width = self.contentsRect().width()
        room = width - FIT_MARGIN_PX
        size = TITLE_PT
        advance = QFontMetricsF(self.title_font(size)).horizontalAdvance(self.title)
        if advance > room > 0:
            size = max(MIN_TITLE_PT, int(TITLE_PT * room / advance))  # text width is about linear in size...
            while size > MIN_TITLE_PT and QFontMetricsF(self.title_font(size)).horizontalAdvance(self.title) > room:
                size -= 1  # ...but hinting rounds per glyph, so check
        return size

    def _paint(self, text: str, detail: str, colour: str) -> None:
        self.title, self._detail = text, detail
        if colour != self._colour:  # restyling re-polishes the widget: only when the colour changes
            self._colour = colour
            self.setStyleSheet(f"background: {colour}; color: white; border-radius: 8px; padding: 4px 12px;")
        self._render()

    def _render(self) -> None:
        self.title_pt = self.fitted_title_pt()
        small = f"<div style='font-size:{DETAIL_PT}pt'>{self._detail}</div>" if self._detail else ""
        self.setText(f"<div style='font-size:{self.title_pt}pt; font-weight:bold'>{self.title}</div>{small}")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fitted_title_pt() != self.title_pt:
            self._render()

    def minimumSizeHint(self) -> QSize:
        # The text shrinks to fit, so it must not hold the side panel open at the 44 pt width
        # (QLabel's own hint would): ask only for room for the smallest title.
        hint = super().minimumSizeHint()
        margins = self.contentsMargins()
        floor = QFontMetricsF(self.title_font(MIN_TITLE_PT)).horizontalAdvance("UNCERTAIN")
        return QSize(int(floor) + FIT_MARGIN_PX + margins.left() + margins.right(), hint.height())
