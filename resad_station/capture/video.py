"""A video file decoded by OpenCV, optionally looping and paced at a set fps."""

from __future__ import annotations

from pathlib import Path

import cv2

from .base import Frame, SourceOptions
from .decode import to_rgb8
from .opencv_capture import OpenCVCaptureSource
from .pacing import Pacer
from .registry import register_source

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm")  # what --source takes for a video


@register_source
class VideoFileSource(OpenCVCaptureSource):
    kind = "video"
    is_live = False
    uri_is_path = True
    guess_rank = 30

    @classmethod
    def claims(cls, uri: str) -> bool:
        return Path(uri).suffix.lower() in VIDEO_SUFFIXES

    @classmethod
    def from_config(cls, uri: str, options: SourceOptions) -> VideoFileSource:
        return cls(options.path(uri), fps=options.fps, loop=options.loop, name=options.name, settings=options.settings)

    def __init__(self, uri: str, *, fps: float | None = None, loop: bool = False, name: str = "cam1",
                 settings: dict | None = None) -> None:
        super().__init__(uri, name=name, settings=settings)
        self.path = Path(uri)
        self.loop = loop
        self._pacer = Pacer(fps) if fps else None
        self._pos = 0  # frame number within the file, to resume there after a reopen

    def _create_capture(self) -> cv2.VideoCapture:
        if not self.path.exists():
            raise self.error("cannot open (file not found)")
        if not self.path.is_file():
            raise self.error("cannot open (not a file)")
        return cv2.VideoCapture(str(self.path))

    def _open_failed_reason(self) -> str:
        return "cannot open (not a video OpenCV can decode)"

    def _after_open(self) -> None:
        if self._pos and self._cap is not None:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, self._pos)
        if self._pacer:
            self._pacer.reset()

    def _rewind(self) -> None:
        with self._lock:
            if self._cap is not None:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._pos = 0

    def read(self, timeout: float | None = None) -> Frame | None:
        if self._pacer:
            self._pacer.wait(timeout)
        image = self._grab()
        if image is None:
            if not self.loop:
                return None
            if self._pos == 0:
                raise self.error("the video has no decodable frames")
            self._rewind()
            image = self._grab()
            if image is None:
                raise self.error("cannot rewind to the first frame for looping")
        name = f"{self.path.name}#{self._pos}"
        self._pos += 1
        return self._frame(to_rgb8(image, bgr=True), name)
