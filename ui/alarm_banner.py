"""The alarm banner: large, blinking, with a sound, until someone acknowledges it.

The runtime owns alarm state (raise, latch, acknowledge, clear); the banner shows what the runtime
says. It appears on RAISED and goes away on ACKNOWLEDGED or CLEARED, so a latched alarm stays on
screen until acknowledged (the runtime does not clear a latched alarm by itself).
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from resad_station.runtime.events import AlarmEvent, AlarmStatus

ACK_SHORTCUT = "F2"
BLINK_MS = 500
BEEP_EVERY_BLINKS = 6  # a beep every 3 s while unacknowledged: hard to miss, not a siren
_STYLE = "QFrame#alarm {{ background: {bg}; border: 3px solid #ffffff; }} QLabel {{ color: white; font-size: 22pt; font-weight: bold; }}"


class AlarmBanner(QFrame):
    acknowledge_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarm")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.ack_button = QPushButton(f"Acknowledge ({ACK_SHORTCUT})")
        self.ack_button.setMinimumHeight(56)
        self.ack_button.setStyleSheet("font-size: 16pt; font-weight: bold; padding: 6px 18px;")
        self.ack_button.clicked.connect(self.acknowledge_requested)
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.ack_button)
        self.event: AlarmEvent | None = None
        self._blink_on = True
        self._blinks = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._blink)
        self._paint()
        self.hide()

    @property
    def active(self) -> bool:
        return self.event is not None

    def on_alarm(self, event: AlarmEvent) -> None:
        if event.status == AlarmStatus.RAISED:
            self.event = event
            when = dt.datetime.fromtimestamp(event.time).strftime("%H:%M:%S") if event.time else ""
            detail = event.message or f"score {event.score:.3g}, frame {event.frame_index}"
            self.text.setText(f"ALARM {when} on {event.product} ({event.camera}): {detail}")
            self._blinks = 0
            self.show()
            self._timer.start(BLINK_MS)
            QApplication.beep()
        elif event.status in (AlarmStatus.ACKNOWLEDGED, AlarmStatus.CLEARED):
            self.event = None
            self._timer.stop()
            self.hide()

    def _blink(self) -> None:
        self._blink_on = not self._blink_on
        self._blinks += 1
        if self._blinks % BEEP_EVERY_BLINKS == 0:
            QApplication.beep()
        self._paint()

    def _paint(self) -> None:
        self.setStyleSheet(_STYLE.format(bg="#d01010" if self._blink_on else "#700000"))
