"""Builds a FrameSource from a profile's camera section (kind + uri + options)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .base import FrameSource, SourceError, check_settings
from .device import DeviceSource
from .folder import FolderSource
from .genicam import GenICamSource
from .hotfolder import HotFolderSource
from .replay import ReplaySource
from .stream import StreamSource
from .video import VideoFileSource

SOURCE_KINDS = ("device", "stream", "video", "folder", "hotfolder", "replay", "genicam")
_FILE_KINDS = ("video", "folder", "hotfolder", "replay")


def _resolve(uri: str, base_dir: str | os.PathLike[str] | None) -> str:
    """Relative paths in a profile are relative to the profile's folder, not the working directory."""
    path = Path(os.path.expanduser(uri))
    if base_dir is not None and not path.is_absolute():
        path = Path(base_dir) / path
    return str(path)


def open_source(kind: str, uri: str | int, *, base_dir: str | os.PathLike[str] | None = None, fps: float | None = None,
                loop: bool = False, name: str = "cam1", settings: dict[str, Any] | None = None) -> FrameSource:
    """Build the source (it is not opened yet: call open(), or hand it to a CaptureWorker, which does).

    Raises SourceError for an unknown kind or bad options, naming the kind, uri and the problem.
    """
    kind = str(kind).strip().lower()
    uri = str(uri).strip()
    where = f"{kind} '{uri}'"
    if kind not in SOURCE_KINDS:
        raise SourceError(f"{where}: unknown source kind (expected one of {', '.join(SOURCE_KINDS)})")
    if not uri and kind != "genicam":
        raise SourceError(f"{where}: empty uri (expected a {'device index' if kind == 'device' else 'path or URL'})")
    if fps is not None and (isinstance(fps, bool) or not isinstance(fps, (int, float)) or fps <= 0):
        raise SourceError(f"{where}: fps must be a positive number, got {fps!r}")
    settings = check_settings(dict(settings or {}), where)
    common: dict[str, Any] = {"name": name, "settings": settings}
    if kind in _FILE_KINDS:
        uri = _resolve(uri, base_dir)
    if kind == "device":
        return DeviceSource(uri, fps=fps, **common)
    if kind == "stream":
        return StreamSource(uri, **common)
    if kind == "video":
        return VideoFileSource(uri, fps=fps, loop=loop, **common)
    if kind == "folder":
        return FolderSource(uri, fps=fps, loop=loop, **common)
    if kind == "hotfolder":
        return HotFolderSource(uri, **common)
    if kind == "replay":
        return ReplaySource(uri, fps=fps, loop=loop, **common)
    cti, sep, selector = uri.partition("#")
    if cti:
        uri = _resolve(cti, base_dir) + sep + selector
    return GenICamSource(uri, **common)
