"""Where frames come from: the profile's camera or a --source override."""

from __future__ import annotations

from pathlib import Path

from resad_station.capture import guess_kind, source_class


def source_for(profile, override: str | None = None) -> tuple[str, str]:
    """(kind, uri) to open: the override (relative to the working directory) or the profile's camera."""
    if override:
        kind = guess_kind(override)
        uri = str(Path(override).resolve()) if source_class(kind).uri_is_path else override
        return kind, uri
    return profile.camera.kind, profile.camera_location()
