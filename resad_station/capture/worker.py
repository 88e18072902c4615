"""The capture thread: keeps a source running, hands frames over, and never dies because of a camera."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from .base import CorruptFrameError, Frame, FrameSource, ReadTimeout, SourceError
from .decode import ImageDecodeError, check_frame_size
from .imaging import Roi, crop_roi
from .slots import FrameFifo, LatestFrameSlot
from .state import CameraState, CameraStatus

log = logging.getLogger(__name__)

READ_POLL_S = 0.2  # longest read() wait before the thread looks at stop() again


class CaptureWorker:
    """Runs `source_factory()`'s source on a daemon thread.

    mode "live": latest-frame slot, a frame the consumer did not take is replaced (counted in
    `dropped`). mode "triggered": bounded FIFO, never drops, the capture thread waits for room.
    A failing source is closed and reopened on the same object with `backoff` delays (seconds; the
    last one repeats); states go to `on_state`. Once the backoff steps are used up the state turns
    FAILED: it keeps retrying every backoff[-1] s, or ends after `give_up_after` failures in a row.
    A corrupt item is skipped, counted in `corrupt_skipped` and passed to `on_skip`.
    `on_frame` (the display tap) sees every captured frame on the capture thread, before it is
    queued: the live picture can follow the camera while inspection runs at its own pace.
    `roi` (the profile's camera.roi) is cut here, before anything else sees the frame, into a
    contiguous array the engine takes as it is: the queue, the display tap, inspection and the
    recorder only ever hold the region. A frame the ROI misses keeps its full image and carries
    the error in `Frame.problem`; inspection counts and reports it with the frame's name.
    `stages` (a StageTimes) gets "read" (the source's read and decode, pacing sleep excluded)
    and "roi_crop" per frame.
    """

    def __init__(self, source_factory: Callable[[], FrameSource], mode: Literal["live", "triggered"],
                 on_state: Callable[[CameraState], None], queue_size: int = 8,
                 backoff: Sequence[float] = (0.2, 0.5, 1, 2, 5), *, camera: str = "cam1",
                 on_skip: Callable[[CorruptFrameError], None] | None = None, give_up_after: int | None = None,
                 on_frame: Callable[[Frame], None] | None = None, roi: Roi | None = None,
                 stages: Any = None) -> None:
        if mode not in ("live", "triggered"):
            raise ValueError(f"capture mode must be 'live' or 'triggered', got {mode!r}")
        if not backoff:
            raise ValueError(f"backoff needs at least one delay in seconds, got {backoff!r}")
        self.mode = mode
        self.camera = camera
        self._factory = source_factory
        self._on_state = on_state
        self._on_skip = on_skip
        self._on_frame = on_frame
        self.roi = roi
        self._stages = stages
        self._backoff = tuple(float(b) for b in backoff)
        self._give_up_after = give_up_after
        self._buffer: LatestFrameSlot | FrameFifo = LatestFrameSlot() if mode == "live" else FrameFifo(queue_size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"capture-{camera}", daemon=True)
        self.source: FrameSource | None = None
        self.status = CameraStatus.STOPPED
        self.captured = 0
        self.corrupt_skipped = 0
        self.last_error = ""
        self._healthy = False

    # ---- consumer side -------------------------------------------------------------------------
    @property
    def dropped(self) -> int:
        return self._buffer.dropped

    @property
    def queued(self) -> int:
        return len(self._buffer)

    @property
    def done(self) -> bool:
        """The thread has ended (finished, stopped or gave up) and every frame was taken."""
        return self._buffer.closed and len(self._buffer) == 0

    def get(self, timeout: float | None = None) -> Frame | None:
        return self._buffer.get(timeout)

    def get_many(self, max_n: int, timeout: float | None = None) -> list[Frame]:
        return self._buffer.get_many(max_n, timeout)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop and join; True when the thread ended within `timeout`.

        A producer blocked on the full FIFO or waiting in read() is woken at once; only a driver
        call that itself hangs (a cv2 read on a dead stream, bounded by its own timeout) can
        outlast it, and the thread is a daemon so it never keeps the app from exiting.
        """
        self._stop.set()
        self._buffer.close()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # ---- capture thread ------------------------------------------------------------------------
    def _state(self, status: CameraStatus, reason: str = "") -> None:
        self.status = status
        try:
            self._on_state(CameraState(camera=self.camera, status=status, reason=reason, time=time.time()))
        except Exception:  # a broken listener must not take the camera down
            log.exception("camera state listener failed")

    def _run(self) -> None:
        self._state(CameraStatus.CONNECTING)
        failures = 0
        final = CameraStatus.STOPPED
        try:
            while not self._stop.is_set():
                try:
                    self._healthy = False
                    if self.source is None:
                        self.source = self._factory()
                    self.source.open()
                    if failures == 0:
                        self._state(CameraStatus.CONNECTED)
                    # after a failure, CONNECTED (and a reset backoff) waits for a real read: a source
                    # that opens and fails at once must back off, not flap eight times a second
                    if self._pump(self.source, announce=failures > 0):
                        final = CameraStatus.FINISHED
                        break
                except SourceError as exc:
                    reason = str(exc)
                except Exception as exc:  # a bug or driver surprise in one source must not end the line
                    log.exception("capture source raised unexpectedly")
                    reason = f"unexpected {type(exc).__name__}: {exc}"
                else:
                    continue  # stopped while pumping
                self._close_source()
                if self._stop.is_set():
                    break
                failures = 1 if self._healthy else failures + 1
                self.last_error = reason
                if self._give_up_after is not None and failures >= self._give_up_after:
                    final = CameraStatus.FAILED
                    break
                status = CameraStatus.FAILED if failures > len(self._backoff) else CameraStatus.RECONNECTING
                self._state(status, reason)
                self._stop.wait(self._backoff[min(failures - 1, len(self._backoff) - 1)])
        finally:
            self._close_source()
            self._buffer.close()  # wakes consumers: get() returns what is left, then None at once
            self._state(final, self.last_error if final == CameraStatus.FAILED else "")

    def _mark_healthy(self, announce: bool) -> None:
        if not self._healthy:
            self._healthy = True
            if announce:
                self._state(CameraStatus.CONNECTED)

    def _pump(self, source: FrameSource, announce: bool = False) -> bool:
        """Read until stop (False) or a normal end (True); failures propagate as SourceError."""
        while not self._stop.is_set():
            try:
                started = time.perf_counter()
                frame = source.read(timeout=READ_POLL_S)
                read_ms = (time.perf_counter() - started) * 1000.0 - source.paced_ms
            except ReadTimeout:
                self._mark_healthy(announce)  # waiting for the next part: the source itself is fine
                continue
            except CorruptFrameError as exc:
                self._skip(exc)
                continue
            if frame is not None:
                try:  # a camera frame over the size limit: that frame only
                    check_frame_size(frame.image.shape[1], frame.image.shape[0], source.max_megapixels)
                except ImageDecodeError as exc:
                    self._skip(CorruptFrameError(f"{source.describe()}: frame '{frame.source_name}' skipped: {exc}"))
                    continue
            if frame is None:  # a normal end; sources whose end is a failure (streams) raise instead
                return True
            self._mark_healthy(announce)
            self.captured += 1
            frame = self._cut(frame, read_ms)
            if self._on_frame is not None:
                try:
                    self._on_frame(frame)
                except Exception:  # a broken display must not stop the camera
                    log.exception("frame tap failed")
            if not self._buffer.put(frame):  # closed by stop() while waiting for room
                return False
        return False

    def _cut(self, frame: Frame, read_ms: float) -> Frame:
        stages = self._stages
        if stages is not None:
            stages.add("read", max(0.0, read_ms))
        if self.roi is None:
            return frame
        started = time.perf_counter()
        try:
            region = np.ascontiguousarray(crop_roi(frame.image, self.roi))
        except ValueError as exc:  # the ROI misses this frame: inspection reports it, naming the frame
            return replace(frame, problem=str(exc))
        if stages is not None:
            stages.add("roi_crop", (time.perf_counter() - started) * 1000.0)
        return replace(frame, image=region)

    def _skip(self, exc: CorruptFrameError) -> None:
        self.corrupt_skipped += 1
        self.last_error = str(exc)
        log.warning("%s", exc)
        if self._on_skip is not None:
            try:
                self._on_skip(exc)
            except Exception:
                log.exception("skip listener failed")

    def _close_source(self) -> None:
        if self.source is not None:
            try:
                self.source.close()
            except Exception:
                log.exception("closing the capture source failed")
