"""The camera kinds: each source class registers itself under its `kind`, one file per kind.

The profile's camera.kind, open_source and --source guessing all ask this registry, so a new
kind is one new file with a decorated FrameSource subclass (docs/architecture.md).
"""

from __future__ import annotations

from typing import TypeVar

from .base import FrameSource, SourceError

S = TypeVar("S", bound=type[FrameSource])

_SOURCES: dict[str, type[FrameSource]] = {}


def register_source(cls: S) -> S:
    """Class decorator: `cls.kind` becomes a camera kind. Registering the same class again is a no-op."""
    kind = cls.kind
    if not kind or kind != kind.strip().lower():
        raise ValueError(f"{cls.__name__}.kind must be a lower-case name, got {kind!r}")
    other = _SOURCES.get(kind)
    if other is not None and other is not cls:
        raise ValueError(f"camera kind {kind!r} is registered twice ({other.__name__} and {cls.__name__})")
    _SOURCES[kind] = cls
    return cls


def unregister_source(kind: str) -> None:
    """Take a kind out again (tests that register an example kind clean up with this)."""
    _SOURCES.pop(kind, None)


def source_kinds() -> tuple[str, ...]:
    """Every registered kind, by name (import order would make messages vary)."""
    return tuple(sorted(_SOURCES))


def source_class(kind: str) -> type[FrameSource]:
    try:
        return _SOURCES[kind]
    except KeyError:
        raise SourceError(f"unknown source kind '{kind}' (expected one of {', '.join(source_kinds())})") from None


def guess_kind(uri: str) -> str:
    """The kind of a bare --source uri: the first kind, by guess_rank, that claims it."""
    text = uri.strip()
    ranked = sorted((c for c in _SOURCES.values() if c.guess_rank is not None), key=lambda c: c.guess_rank)
    for cls in ranked:
        if cls.claims(text):
            return cls.kind
    raise SourceError(f"--source '{uri}': no camera kind recognises it (give a profile with camera.kind instead)")
