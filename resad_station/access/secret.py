"""The station secret: 32 random bytes, created at first start, owner-only (0600), beside the PIN file.

It keys the MAC on reference sets and calibrations (storage/sealing.py). Whoever can read it can
forge a sealed set, so it is readable by the station's OS user only. Losing it makes every
stored set unverifiable: back it up with the database.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_FILE = "station_secret.key"
SECRET_BYTES = 32


def station_secret(data_dir: str | os.PathLike) -> bytes:
    """The data directory's secret, created (0600, atomically) when there is none yet."""
    return load_or_create_secret(data_dir)[0]


def load_or_create_secret(data_dir: str | os.PathLike) -> tuple[bytes, bool]:
    """(secret, created now)."""
    path = Path(data_dir) / SECRET_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    if len(data) == SECRET_BYTES:
        return data, False
    if data:
        raise ValueError(f"{path}: the station secret is damaged ({len(data)} bytes, expected {SECRET_BYTES}); "
                         "restore it from a backup (sets sealed with it cannot be verified without it)")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_bytes(SECRET_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    created = True
    try:
        os.link(tmp, path)  # never replaces a secret another process created meanwhile
    except FileExistsError:
        created = False
    finally:
        os.unlink(tmp)
    return path.read_bytes(), created
