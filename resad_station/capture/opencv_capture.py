"""Shared cv2.VideoCapture handling for the device, stream and video sources."""

from __future__ import annotations

import threading
from typing import Any

import cv2

from .base import APPLIED, UNSUPPORTED, Frame, FrameSource
from .decode import to_rgb8


class OpenCVCaptureSource(FrameSource):
    """Subclasses say what to open (_target) and what an empty read means (_on_no_frame)."""

    def __init__(self, uri: str, *, name: str = "cam1", settings: dict | None = None) -> None:
        super().__init__(uri, name=name, settings=settings)
        self._cap: cv2.VideoCapture | None = None
        self._lock = threading.Lock()  # close() from another thread must not free the capture mid-read

    def _create_capture(self) -> cv2.VideoCapture:
        raise NotImplementedError

    def _open_failed_reason(self) -> str:
        return "cannot open"

    def _on_no_frame(self) -> Frame | None:
        raise NotImplementedError

    def _frame_name(self) -> str:
        return f"{self.uri}#{self._next_index}"

    def open(self) -> None:
        if self._cap is not None:
            return
        try:
            cap = self._create_capture()
        except cv2.error as exc:
            raise self.error(f"{self._open_failed_reason()} ({exc.err or exc})") from exc
        if not cap.isOpened():
            cap.release()
            raise self.error(self._open_failed_reason())
        self._cap = cap
        self._after_open()
        self._apply_wanted()

    def _after_open(self) -> None:
        """Hook: seek, set fps, ..."""

    def close(self) -> None:
        with self._lock:
            if self._cap is not None:
                self._cap.release()
                self._cap = None

    def _grab(self) -> Any:
        """One cap.read(); returns the BGR image or None."""
        with self._lock:
            if self._cap is None:
                raise self.error("read before open()")
            try:
                ok, image = self._cap.read()
            except cv2.error as exc:
                raise self.error(f"read failed ({exc.err or exc})") from exc
        return image if ok and image is not None and image.size else None

    def read(self, timeout: float | None = None) -> Frame | None:
        image = self._grab()
        if image is None:
            return self._on_no_frame()
        return self._frame(to_rgb8(image, bgr=True), self._frame_name())

    # exposure and gain go through the generic OpenCV properties (V4L2, DirectShow, MSMF)
    _PROPS = {"exposure": cv2.CAP_PROP_EXPOSURE, "gain": cv2.CAP_PROP_GAIN}

    def _apply(self, settings: dict[str, Any]) -> dict[str, str]:
        with self._lock:  # the ui may change settings while the capture thread reads
            return self._apply_locked(settings)

    def _apply_locked(self, settings: dict[str, Any]) -> dict[str, str]:
        report: dict[str, str] = {}
        for key, value in settings.items():
            prop = self._PROPS.get(key)
            if prop is None or not self._supports_camera_settings():
                report[key] = UNSUPPORTED
            elif self._cap is None:
                report[key] = "not applied yet (the source is not open; applied when it opens)"
            else:
                if key == "exposure":
                    # V4L2 ignores a manual exposure while auto exposure is on (1 = manual there)
                    self._cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, 1)
                ok = self._cap.set(prop, float(value))
                report[key] = APPLIED if ok else f"rejected by the camera driver ({key}={value})"
        return report

    def _supports_camera_settings(self) -> bool:
        return False
