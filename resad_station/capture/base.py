"""The one interface every camera source implements, and the frame it produces."""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

SETTING_NAMES = ("exposure", "gain", "trigger")
APPLIED = "applied"
UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Frame:
    """One captured image: HxWx3 uint8 RGB, whatever the camera delivered."""

    image: np.ndarray
    index: int  # running frame number of this source, continues across reconnects
    captured_at: float  # time.time() when the frame was captured
    source_name: str  # file name, or uri#frame for cameras and videos
    problem: str = ""  # why this frame cannot be inspected (the camera ROI misses it), reported by inspection


@dataclass(frozen=True)
class SourceOptions:
    """What a profile's camera section gives a source besides its uri (see FrameSource.from_config)."""

    name: str = "cam1"
    fps: float | None = None
    loop: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    base_dir: str | os.PathLike[str] | None = None  # the profile's folder

    def path(self, uri: str) -> str:
        """Relative paths in a profile are relative to the profile's folder, not the working directory."""
        path = Path(os.path.expanduser(uri))
        if self.base_dir is not None and not path.is_absolute():
            path = Path(self.base_dir) / path
        return str(path)


class SourceError(Exception):
    """A source could not open or deliver; the message names the source (kind + uri) and the problem."""


class CorruptFrameError(SourceError):
    """One item of a source could not be decoded (a corrupt file); the source itself is still fine.

    The capture worker skips it, counts it and reports it; the line goes on.
    """

    def __init__(self, message: str, file: str = "") -> None:
        super().__init__(message)
        self.file = file


class ReadTimeout(TimeoutError):
    """read(timeout) had no frame yet (a hot folder waiting for files, a replay waiting for its tick).

    Not a failure: the caller simply asks again. It lets the worker check for stop() between waits.
    """


class FrameSource(ABC):
    """A camera, stream, video file or folder of images.

    open() is idempotent and may be called again after close(): the worker reopens the same
    object after a failure, and finite sources keep their position so no frame is delivered twice.
    """

    kind: ClassVar[str] = ""  # the profile's camera.kind; @register_source files the class under it
    is_live: ClassVar[bool] = False  # a camera that keeps producing: drops are allowed in live mode
    max_megapixels: float | None = None  # frame size limit (profile camera.max_megapixels; None: decode's default)
    uri_is_path: ClassVar[bool] = False  # a file or folder, resolved against the profile's folder
    uri_required: ClassVar[bool] = True
    uri_hint: ClassVar[str] = "path or URL"  # what an empty uri should have been
    hardware_trigger: ClassVar[bool] = False  # camera.trigger: hardware is allowed
    guess_rank: ClassVar[int | None] = None  # --source guessing asks lower ranks first; None: never
    _pacer: Any = None  # a simulated line's Pacer (capture/pacing.py), in sources that pace themselves

    @property
    def paced_ms(self) -> float:
        """How long the last read() slept for its pacing (not reading or decoding: the stage timings leave it out)."""
        return self._pacer.last_wait_ms if self._pacer is not None else 0.0

    @classmethod
    def claims(cls, uri: str) -> bool:
        """Whether a bare --source uri looks like this kind (asked in guess_rank order)."""
        return False

    @classmethod
    def from_config(cls, uri: str, options: SourceOptions) -> FrameSource:
        """The source a profile's camera section describes (not opened yet). Kinds that take fps or
        loop, or parse their uri, override this."""
        return cls(options.path(uri) if cls.uri_is_path else uri, name=options.name, settings=options.settings)

    def __init__(self, uri: str, *, name: str = "cam1", settings: dict[str, Any] | None = None) -> None:
        self.uri = str(uri)
        self.name = name
        self._next_index = 0
        self._wanted = check_settings(settings or {}, self.describe())
        self.settings_report: dict[str, str] = {}  # outcome of the last apply_settings

    def describe(self) -> str:
        return f"{self.kind} '{self.uri}'"

    def error(self, problem: str) -> SourceError:
        return SourceError(f"{self.describe()}: {problem}")

    @abstractmethod
    def open(self) -> None:
        """Connect / start; raises SourceError naming the source and the cause."""

    @abstractmethod
    def read(self, timeout: float | None = None) -> Frame | None:
        """The next frame; None when a finite source has ended.

        Raises SourceError when the source failed (reopen it), CorruptFrameError for one bad item
        (skip it) and ReadTimeout when no frame came within `timeout` (ask again).
        """

    @abstractmethod
    def close(self) -> None:
        """Release the device / file; safe to call twice."""

    def apply_settings(self, exposure: float | None = None, gain: float | None = None,
                       trigger: str | None = None) -> dict[str, str]:
        """Per given setting: "applied", "unsupported" or an error text. Remembered for reopen."""
        given = {k: v for k, v in (("exposure", exposure), ("gain", gain), ("trigger", trigger)) if v is not None}
        self._wanted.update(check_settings(given, self.describe()))
        report = self._apply(given)
        self.settings_report.update(report)
        return report

    def _apply(self, settings: dict[str, Any]) -> dict[str, str]:
        """Subclasses that talk to hardware override this; files have no exposure or gain."""
        return {key: UNSUPPORTED for key in settings}

    def _apply_wanted(self) -> None:
        """Called by open(): settings given at construction (or before a reconnect) go to the device."""
        if self._wanted:
            self.settings_report = self._apply(dict(self._wanted))

    def _frame(self, image: np.ndarray, source_name: str) -> Frame:
        frame = Frame(image=image, index=self._next_index, captured_at=time.time(), source_name=source_name)
        self._next_index += 1
        return frame

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def check_settings(settings: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate camera settings early, with an error that names the setting and what was expected."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in SETTING_NAMES:
            raise SourceError(f"{where}: unknown camera setting '{key}' (expected one of {', '.join(SETTING_NAMES)})")
        if value is None:
            continue
        if key == "trigger":
            if not isinstance(value, str) or not value.strip():
                raise SourceError(f"{where}: setting 'trigger' must be a text like 'off', 'software' or 'line1', got {value!r}")
            out[key] = value.strip().lower()
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SourceError(f"{where}: setting '{key}' must be a number, got {value!r}")
            out[key] = float(value)
    return out
