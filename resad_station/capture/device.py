"""A local camera by OpenCV device index or path (USB / V4L2 / DirectShow / MSMF)."""

from __future__ import annotations

import os
import sys

import cv2

from .base import Frame, SourceOptions
from .opencv_capture import OpenCVCaptureSource
from .registry import register_source


@register_source
class DeviceSource(OpenCVCaptureSource):
    kind = "device"
    is_live = True
    uri_hint = "device index"
    guess_rank = 10

    @classmethod
    def claims(cls, uri: str) -> bool:
        return uri.isdigit()

    @classmethod
    def from_config(cls, uri: str, options: SourceOptions) -> DeviceSource:
        return cls(uri, fps=options.fps, name=options.name, settings=options.settings)

    def __init__(self, uri: str, *, fps: float | None = None, name: str = "cam1", settings: dict | None = None) -> None:
        super().__init__(uri, name=name, settings=settings)
        self.fps = fps
        text = str(uri).strip()
        self._target: int | str = int(text) if text.isdigit() else text

    def _device_path(self) -> str | None:
        if sys.platform.startswith("linux"):
            return f"/dev/video{self._target}" if isinstance(self._target, int) else self._target
        return None

    def _create_capture(self) -> cv2.VideoCapture:
        path = self._device_path()
        if path is not None and not os.path.exists(path):
            # checked first: OpenCV's own message for a missing device is a log line, not an error
            raise self.error(f"cannot open camera (no such device: {path} does not exist)")
        return cv2.VideoCapture(self._target)

    def _open_failed_reason(self) -> str:
        return "cannot open camera (not present, busy in another program, or no permission)"

    def _after_open(self) -> None:
        if self.fps and self._cap is not None:
            self._cap.set(cv2.CAP_PROP_FPS, float(self.fps))

    def _on_no_frame(self) -> Frame | None:
        raise self.error("frame grab failed (camera unplugged or stalled)")

    def _supports_camera_settings(self) -> bool:
        return True
