"""The drift warning: a steady violet strip (not the red alarm): good parts score higher than at enrollment.

It is a warning, not an alarm: nothing to acknowledge, no sound, and it goes away by itself when
the runtime clears it (the good scores are back at their baseline).
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import QWidget

from resad_station.runtime.drift import DriftEvent, DriftStatus
from ui.strip import Strip

DRIFT_COLOUR = "#6a4bc4"  # violet: neither the verdict colours (green / amber / red) nor the alarm


class DriftBanner(Strip):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("drift", DRIFT_COLOUR, "#d8ccff", 14, True, parent)
        self.event: DriftEvent | None = None

    @property
    def active(self) -> bool:
        return self.event is not None

    def on_drift(self, event: DriftEvent) -> None:
        if event.status is DriftStatus.RAISED:
            self.event = event
            when = dt.datetime.fromtimestamp(event.time).strftime("%H:%M:%S")
            self.text.setText(f"DRIFT {when} on {event.product} ({event.camera}): {event.message}")
            self.show()
        else:
            self.event = None
            self.hide()
