"""A camera's set-up notice: a steady amber-brown strip above the picture, neither alarm nor drift.

The runtime publishes a Notice when something about a camera's set-up would make its verdicts
wrong without a defect to blame (its frames are not at the scale of the product's shots), and
withdraws it when that is no longer so. Nothing to acknowledge: an engineer fixes the cause.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from resad_station.runtime.events import Notice
from ui.strip import Strip

NOTICE_COLOUR = "#7a5a12"  # dark amber: not the verdict amber of UNCERTAIN, not the alarm red


class NoticeBanner(Strip):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("notice", NOTICE_COLOUR, "#e8c36a", 12, False, parent)
        self.notices: dict[tuple[str, str], Notice] = {}  # (camera, kind) -> the notice standing

    def on_notice(self, notice: Notice) -> None:
        key = (notice.camera, notice.kind)
        if notice.message:
            self.notices[key] = notice
        else:
            self.notices.pop(key, None)
        self.text.setText("\n".join(f"CHECK CAMERA {n.camera}: {n.message}" for n in self.notices.values()))
        self.setVisible(bool(self.notices))
