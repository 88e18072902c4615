"""Users allowed to write to the station's OPC UA server: a YAML file of salted PBKDF2 hashes.

    users:
      - name: alice
        role: engineer            # engineer: may write; operator: may read only
        password_hash: pbkdf2_sha256$200000$<salt hex>$<hash hex>

`resad-station outputs hash-password` prints a hash for a password read from the terminal.
The file is read with yaml.safe_load and a size limit; it never holds a password itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from resad_station.safe_yaml import YamlLimitError, load_limited

MAX_FILE_BYTES = 1 << 20
ITERATIONS = 200_000
ROLES = ("operator", "engineer")


class CredentialsError(ValueError):
    """The users file cannot be used; the message names the file and the entry."""


def hash_password(password: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def _check_hash(text: str) -> tuple[int, bytes, bytes]:
    scheme, iterations, salt, digest = text.split("$")
    if scheme != "pbkdf2_sha256":
        raise ValueError(scheme)
    return int(iterations), bytes.fromhex(salt), bytes.fromhex(digest)


@dataclass(frozen=True)
class UserEntry:
    name: str
    role: Literal["operator", "engineer"]
    password_hash: str

    def verify(self, password: str) -> bool:
        iterations, salt, digest = _check_hash(self.password_hash)
        given = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
        return hmac.compare_digest(given, digest)


def load_users(path: Path) -> dict[str, UserEntry]:
    where = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileNotFoundError(f"users_file {path}: cannot read it: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise CredentialsError(f"{where}: larger than {MAX_FILE_BYTES} bytes")
    try:
        data = load_limited(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, YamlLimitError) as exc:
        raise CredentialsError(f"{where}: not a YAML users file: {exc}") from None
    entries = data.get("users") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise CredentialsError(f"{where}: expected a mapping with a list `users:`")
    users = {}
    for i, entry in enumerate(entries):
        field = f"{where}: users.{i}"
        if not isinstance(entry, dict) or set(entry) != {"name", "role", "password_hash"}:
            raise CredentialsError(f"{field}: expected exactly name, role, password_hash")
        name, role, hashed = entry["name"], entry["role"], entry["password_hash"]
        if not isinstance(name, str) or not name:
            raise CredentialsError(f"{field}.name: expected a non-empty text")
        if role not in ROLES:
            raise CredentialsError(f"{field}.role: expected one of {', '.join(ROLES)} (got {role!r})")
        try:
            _check_hash(str(hashed))
        except ValueError:
            raise CredentialsError(f"{field}.password_hash: expected pbkdf2_sha256$<iterations>$<salt>$<hash> "
                                   "(resad-station outputs hash-password prints one)") from None
        if name in users:
            raise CredentialsError(f"{field}.name: user {name!r} is listed twice")
        users[name] = UserEntry(name, role, str(hashed))
    return users
