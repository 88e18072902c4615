"""Where frames and enrollment images come from: the profile's camera or a --source override."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm")


def image_files(items: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given, folders expanded to their image files (sorted: the line order)."""
    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            out.append(path)  # a missing or odd file is reported by the loader, naming it
    return out


def guess_kind(uri: str) -> str:
    """The source kind of a --source URI: device index, stream URL, video file or image folder."""
    text = uri.strip()
    if text.isdigit():
        return "device"
    if "://" in text:
        return "stream"
    if Path(text).suffix.lower() in VIDEO_SUFFIXES:
        return "video"
    return "folder"


def source_for(profile, override: str | None = None) -> tuple[str, str]:
    """(kind, uri) to open: the override (relative to the working directory) or the profile's camera."""
    if override:
        kind = guess_kind(override)
        uri = str(Path(override).resolve()) if kind in ("video", "folder") else override
        return kind, uri
    return profile.camera.kind, profile.camera_location()
