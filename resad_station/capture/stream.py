"""A network stream (RTSP, HTTP/MJPEG, ...) opened by OpenCV's FFmpeg backend."""

from __future__ import annotations

from urllib.parse import urlparse

import cv2

from .base import Frame
from .opencv_capture import OpenCVCaptureSource
from .registry import register_source

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")
OPEN_TIMEOUT_MS = 5000
READ_TIMEOUT_MS = 5000


@register_source
class StreamSource(OpenCVCaptureSource):
    kind = "stream"
    is_live = True
    guess_rank = 20

    @classmethod
    def claims(cls, uri: str) -> bool:
        return "://" in uri

    def __init__(self, uri: str, *, name: str = "cam1", settings: dict | None = None) -> None:
        super().__init__(uri, name=name, settings=settings)
        scheme = urlparse(self.uri).scheme.lower()
        if scheme not in STREAM_SCHEMES:
            raise self.error(f"not a stream URL (expected one of {', '.join(s + '://' for s in STREAM_SCHEMES)})")

    def _redacted_uri(self) -> str:
        # never put a camera password into logs, frame names or the status bar
        password = urlparse(self.uri).password
        return self.uri.replace(f":{password}@", ":***@") if password else self.uri

    def describe(self) -> str:
        return f"{self.kind} '{self._redacted_uri()}'"

    def _create_capture(self) -> cv2.VideoCapture:
        # bounded waits, so a dead camera turns into a reconnect instead of a hung thread
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
        return cv2.VideoCapture(self.uri, cv2.CAP_FFMPEG, params)

    def _open_failed_reason(self) -> str:
        return "cannot open stream (unreachable, wrong URL or credentials, or unsupported codec)"

    def _frame_name(self) -> str:
        return f"{self._redacted_uri()}#{self._next_index}"

    def _on_no_frame(self) -> Frame | None:
        # a camera stream has no end: an empty read means the connection dropped
        raise self.error("stream ended unexpectedly (connection lost)")
