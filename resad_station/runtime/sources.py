"""Where frames come from: the profile's camera or a --source override."""

from __future__ import annotations

from pathlib import Path

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm")


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
