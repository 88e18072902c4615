"""Roles: operator by default; engineer after the PIN (resad_station/access/pins.py: hash, back-off).

An engineer session ends on "log out" or after ENGINEER_TIMEOUT_S, so a station left
unattended falls back to operator.
"""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QObject, Signal

from resad_station.access.pins import MIN_PIN_LENGTH, PinError, PinLockedError, PinStore  # noqa: F401 (re-exported)

ENGINEER_TIMEOUT_S = 15 * 60


class RoleSession(QObject):
    """Who is at the station now. `engineer` is True only after a correct PIN, until timeout."""

    role_changed = Signal(str)

    OPERATOR = "operator"
    ENGINEER = "engineer"

    def __init__(self, pins: PinStore, user: str = "", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pins = pins
        self.user = user or os.environ.get("USER", "") or "station"
        self._engineer_since: float | None = None

    @property
    def role(self) -> str:
        return self.ENGINEER if self.is_engineer() else self.OPERATOR

    @property
    def actor(self) -> str:
        """Who an audit event names: the role and the OS user that ran the station."""
        return f"{self.role}:{self.user}"

    def is_engineer(self) -> bool:
        if self._engineer_since is None:
            return False
        if time.monotonic() - self._engineer_since > ENGINEER_TIMEOUT_S:
            self.log_out()
            return False
        return True

    def log_in(self, pin: str) -> bool:
        """True for the right PIN; raises PinLockedError while the store backs off."""
        if not self.pins.verify(pin):
            return False
        self._engineer_since = time.monotonic()
        self.role_changed.emit(self.ENGINEER)
        return True

    def log_out(self) -> None:
        if self._engineer_since is not None:
            self._engineer_since = None
            self.role_changed.emit(self.OPERATOR)
