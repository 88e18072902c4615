"""Builds a FrameSource from a profile's camera section (kind + uri + options), through the registry."""

from __future__ import annotations

import os
from typing import Any

from .base import FrameSource, SourceError, SourceOptions, check_settings
from .registry import source_class, source_kinds


def open_source(kind: str, uri: str | int, *, base_dir: str | os.PathLike[str] | None = None, fps: float | None = None,
                loop: bool = False, name: str = "cam1", settings: dict[str, Any] | None = None) -> FrameSource:
    """Build the source (it is not opened yet: call open(), or hand it to a CaptureWorker, which does).

    Raises SourceError for an unknown kind or bad options, naming the kind, uri and the problem.
    """
    kind = str(kind).strip().lower()
    uri = str(uri).strip()
    where = f"{kind} '{uri}'"
    if kind not in source_kinds():
        raise SourceError(f"{where}: unknown source kind (expected one of {', '.join(source_kinds())})")
    cls = source_class(kind)
    if not uri and cls.uri_required:
        raise SourceError(f"{where}: empty uri (expected a {cls.uri_hint})")
    if fps is not None and (isinstance(fps, bool) or not isinstance(fps, (int, float)) or fps <= 0):
        raise SourceError(f"{where}: fps must be a positive number, got {fps!r}")
    settings = check_settings(dict(settings or {}), where)
    return cls.from_config(uri, SourceOptions(name=name, fps=fps, loop=loop, settings=settings, base_dir=base_dir))
