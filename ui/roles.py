"""Roles: operator by default; engineer after the PIN. The PIN is kept as a salted scrypt hash.

The hash lives in `<data dir>/engineer_pin.json` (owner-only permissions), never the PIN itself.
An engineer session ends on "log out" or after ENGINEER_TIMEOUT_S, so a station left
unattended falls back to operator.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

PIN_FILE = "engineer_pin.json"
MIN_PIN_LENGTH = 4
ENGINEER_TIMEOUT_S = 15 * 60
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # ~16 MiB, ~50 ms: slow to brute-force, quick to type


class PinError(ValueError):
    pass


def _derive(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)


class PinStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / PIN_FILE

    def is_set(self) -> bool:
        return self.path.is_file()

    def set_pin(self, pin: str) -> None:
        if len(pin) < MIN_PIN_LENGTH or not pin.isdigit():
            raise PinError(f"the PIN must be at least {MIN_PIN_LENGTH} digits")
        salt = secrets.token_bytes(16)
        record = {"algorithm": "scrypt", **_SCRYPT, "salt": salt.hex(), "hash": _derive(pin, salt, **_SCRYPT).hex()}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)  # atomic: a crash never leaves a half-written PIN file

    def verify(self, pin: str) -> bool:
        if not self.is_set():
            return False
        record = json.loads(self.path.read_text())
        expected = bytes.fromhex(record["hash"])
        actual = _derive(pin, bytes.fromhex(record["salt"]), record["n"], record["r"], record["p"])
        return hmac.compare_digest(expected, actual)


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
        if not self.pins.verify(pin):
            return False
        self._engineer_since = time.monotonic()
        self.role_changed.emit(self.ENGINEER)
        return True

    def log_out(self) -> None:
        if self._engineer_since is not None:
            self._engineer_since = None
            self.role_changed.emit(self.OPERATOR)
