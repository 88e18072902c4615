"""Where the station keeps its data: the user data directory, the database, image files."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "resad-station"
REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_PROFILES_DIR = REPO_ROOT / "profiles"


def default_data_dir() -> Path:
    """The data directory: $RESAD_STATION_DATA if set, else the platform's user data directory."""
    env = os.environ.get("RESAD_STATION_DATA")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


class DataDirError(OSError):
    """The data directory cannot be created or written; the message says which and why.

    storage turns it into a StorageError; the CLI prints it as one line for every command."""


def resolve_data_dir(override: str | os.PathLike | None = None) -> Path:
    path = Path(override) if override else default_data_dir()
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)  # the station's data: owner only
    except OSError as exc:
        raise DataDirError(f"data directory {path} cannot be created: {exc.strerror or exc}") from None
    return path


def check_writable(path: Path) -> None:
    """Raise DataDirError when `path` is read-only (before SQLite says "unable to open database file")."""
    if not os.access(path, os.W_OK):
        raise DataDirError(f"data directory {path} is read-only: the station writes its database and images there; "
                           "make it writable or pass another --data-dir")


def default_db_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'station.db').as_posix()}"


def images_dir(data_dir: Path) -> Path:
    return data_dir / "images"


def onnx_cache_dir(data_dir: Path) -> Path:
    """Exported ONNX graphs (engine.runtime onnxruntime), one folder per weights, input size and opset."""
    return data_dir / "onnx"


def user_profiles_dir(data_dir: Path) -> Path:
    return data_dir / "profiles"
