"""The engineer PIN: a salted scrypt hash in `<data dir>/engineer_pin.json` (0600), never the PIN.

- The first PIN is set only from the terminal (`resad-station gui --set-pin`); changing it needs
  the current one.
- At least MIN_PIN_LENGTH digits.
- Back-off: after FREE_ATTEMPTS wrong PINs in a row, every further try waits 5 s, doubling to
  15 minutes, kept in `engineer_pin_attempts.json` so that neither a new process nor a new
  window starts the count over. A right PIN resets it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

PIN_FILE = "engineer_pin.json"
ATTEMPTS_FILE = "engineer_pin_attempts.json"
MIN_PIN_LENGTH = 6
FREE_ATTEMPTS = 3
FIRST_DELAY_S = 5.0
MAX_DELAY_S = 15 * 60.0
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # ~16 MiB, ~50 ms: slow to brute-force, quick to type


class PinError(ValueError):
    """A PIN that cannot be set or used; the message says why."""


class PinLockedError(PinError):
    """Too many wrong PINs: no PIN is checked until `retry_in_s` has passed."""

    def __init__(self, retry_in_s: float) -> None:
        self.retry_in_s = retry_in_s
        super().__init__(f"too many wrong PINs: try again in {max(1, round(retry_in_s))} s")


def _derive(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)


def _write_private(path: Path, text: str) -> None:
    """Atomically, owner-only from the first byte (a crash never leaves half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def delay_after(failures: int) -> float:
    """Seconds to wait before the next try after `failures` wrong PINs in a row."""
    if failures < FREE_ATTEMPTS:
        return 0.0
    return min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (failures - FREE_ATTEMPTS))


class PinStore:
    def __init__(self, data_dir: str | os.PathLike, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(data_dir) / PIN_FILE
        self.attempts_path = Path(data_dir) / ATTEMPTS_FILE
        self.clock = clock

    def is_set(self) -> bool:
        return self.path.is_file()

    def set_pin(self, pin: str, current: str | None = None) -> None:
        """Set the PIN; when one is set already, `current` must be it (checked with the back-off)."""
        if self.is_set() and (current is None or not self.verify(current)):
            raise PinError("changing the PIN needs the current PIN" if current is None else "the current PIN is wrong")
        if len(pin) < MIN_PIN_LENGTH or not pin.isdigit():
            raise PinError(f"the PIN must be at least {MIN_PIN_LENGTH} digits")
        salt = secrets.token_bytes(16)
        record = {"algorithm": "scrypt", **_SCRYPT, "salt": salt.hex(), "hash": _derive(pin, salt, **_SCRYPT).hex()}
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(self.path, json.dumps(record))

    # -- back-off ---------------------------------------------------------------------------------
    def _failures(self) -> tuple[int, float]:
        try:
            record = json.loads(self.attempts_path.read_text())
            return int(record["failures"]), float(record["last"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0, 0.0

    def retry_in_s(self) -> float:
        """Seconds until a PIN will be checked again (0 when now)."""
        failures, last = self._failures()
        return max(0.0, last + delay_after(failures) - self.clock())

    def verify(self, pin: str) -> bool:
        """True for the right PIN. Raises PinLockedError while backing off (the PIN is not checked)."""
        if not self.is_set():
            return False
        wait = self.retry_in_s()
        if wait > 0:
            raise PinLockedError(wait)
        record = json.loads(self.path.read_text())
        expected = bytes.fromhex(record["hash"])
        actual = _derive(str(pin), bytes.fromhex(record["salt"]), record["n"], record["r"], record["p"])
        if hmac.compare_digest(expected, actual):
            if self.attempts_path.exists():
                self.attempts_path.unlink()
            return True
        failures, _ = self._failures()
        _write_private(self.attempts_path, json.dumps({"failures": failures + 1, "last": self.clock()}))
        return False
