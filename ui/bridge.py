"""The runtime -> Qt bridge: a runtime listener that re-emits events as queued Qt signals.

Runtime listeners are called from the runtime's threads and must return quickly, so an inspected
frame is only handed over there. The picture the live view shows (downscale, heat colouring,
contours, blend: about 10 ms at 960 px) is made on the bridge's own picture thread, at a lower
priority, and only when the UI has taken the previous one: the inspection thread never waits
for it, and frames the screen would not show cost nothing. Frames are COALESCED: the bridge
holds only the newest frame waiting for a picture; one replaced before its picture was made is
counted in `coalesced`. Previews (the live camera picture, published by the capture thread up to
PREVIEW_FPS times a second, resad_station/runtime/pipeline.py, whether or not the frame gets
inspected) are downscaled there and coalesced the same way. Scores are never coalesced: every frame's score is queued for the trend plot. Alarms,
camera states and metrics are rare and are emitted one by one.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from resad_station.runtime.events import AlarmEvent, CameraState, FrameResult, Metrics, PreviewFrame, Verdict
from resad_station.runtime.overlay import map_at
from resad_station.runtime.stage_times import StageTimes
from resad_station.runtime.thread_priority import lower_this_thread
from ui import overlay

log = logging.getLogger(__name__)

DISPLAY_MAX_SIDE = 960
PREVIEW_MAX_SIDE = 640  # the live camera panel is the side column's width
SCORE_BACKLOG = 10_000  # scores kept while the UI is not draining them (a stalled UI must not leak)


@dataclass(frozen=True)
class LiveFrame:
    """What the live view needs of one frame: small images and the numbers, nothing heavy."""

    camera: str
    product: str
    frame_index: int
    captured_at: float
    score: float
    verdict: Verdict
    t_uncertain: float
    t_fail: float
    latency_ms: float
    source_name: str
    image: np.ndarray  # display-size RGB uint8
    heat: np.ndarray  # display-size float32 0..1 (see overlay.normalise_map)
    contours: tuple  # outlines of regions above t_fail, display coordinates
    overlay: np.ndarray  # image + heat blended at `opacity`
    opacity: float  # the view's opacity when the bridge blended; the view re-blends if it changed since
    result: FrameResult | None = None  # the full frame, map and NN matches: the why view on click
    reason: str = ""  # a whole-frame check's: part missing, unlike the references


@dataclass(frozen=True)
class LivePreview:
    """The live camera picture: a frame as captured, not (yet) inspected."""

    camera: str
    frame_index: int
    captured_at: float
    source_name: str
    image: np.ndarray  # preview-size RGB uint8


@dataclass(frozen=True)
class ScorePoint:
    time: float
    score: float
    verdict: Verdict
    frame_index: int


def make_live_frame(result: FrameResult, max_side: int, opacity: float) -> LiveFrame:
    image = overlay.fit_longest_side(result.image, max_side)
    # the map comes at the engine's grid: up-sampled once, to the display size, never to the frame's
    small_map = map_at(result.anomaly_map, *image.shape[:2])
    heat = overlay.normalise_map(small_map, result.t_uncertain, result.t_fail)
    contours = tuple(overlay.hot_contours(small_map, result.t_fail))
    return LiveFrame(
        camera=result.camera,
        product=result.product,
        frame_index=result.frame_index,
        captured_at=result.captured_at,
        score=float(result.score),
        verdict=result.verdict,
        t_uncertain=result.t_uncertain,
        t_fail=result.t_fail,
        latency_ms=result.latency_ms,
        source_name=result.source_name,
        image=image,
        heat=heat,
        contours=contours,
        overlay=overlay.compose_overlay(image, heat, opacity, contours),
        opacity=opacity,
        result=result,
        reason=getattr(result, "reason", ""),
    )


class RuntimeBridge(QObject):
    """Add to the runtime with `station.add_listener(bridge)`; connect the UI to its signals."""

    frame_ready = Signal()  # a new frame waits: call take_frame() / take_scores()
    preview_ready = Signal()  # a new live camera picture waits: call take_preview()
    alarm = Signal(object)  # AlarmEvent
    drift = Signal(object)  # DriftEvent (resad_station.runtime.drift)
    notice = Signal(object)  # Notice: a camera's set-up (resad_station.runtime.events)
    camera_state = Signal(object)  # CameraState
    metrics = Signal(object)  # Metrics
    output_state = Signal(object)  # resad_station.outputs.OutputStatus
    raw_frames_ready = Signal(object)  # list[(source_name, full-size RGB)] asked for by capture_raw()

    def __init__(self, max_side: int = DISPLAY_MAX_SIDE, parent: QObject | None = None,
                 preview_max_side: int = PREVIEW_MAX_SIDE, stages: StageTimes | None = None) -> None:
        super().__init__(parent)
        self.stages = stages if stages is not None else StageTimes()  # the station's: GUI stages beside the runtime's
        self.max_side = max_side
        self.preview_max_side = preview_max_side
        self.opacity = 0.6  # read by the runtime thread; a float assignment is atomic
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the picture thread waits on it
        self._pending: FrameResult | None = None  # the newest inspected frame without a picture yet
        self._making = False
        self._closed = False
        self._picture_thread: threading.Thread | None = None
        self._latest: LiveFrame | None = None
        self._scores: deque[ScorePoint] = deque(maxlen=SCORE_BACKLOG)
        self._signal_pending = False
        self.frames_received = 0
        self.frames_made = 0  # pictures made for the UI
        self.draw_failures = 0  # frames whose picture could not be made (the first is logged)
        self.coalesced = 0  # frames replaced before the UI showed them
        self._raw_wanted = 0
        self._raw: list[tuple[str, np.ndarray]] = []
        self._latest_preview: LivePreview | None = None
        self._preview_signal_pending = False
        self.previews_received = 0
        self.previews_coalesced = 0

    # -- runtime side (any thread) --
    def on_frame(self, result: FrameResult) -> None:
        point = ScorePoint(result.decided_at, float(result.score), result.verdict, result.frame_index)
        with self._lock:
            if self._closed:
                return
            self.frames_received += 1
            if self._pending is not None:
                self.coalesced += 1
            self._pending = result
            self._scores.append(point)
            raw_done = self._collect_raw(result)
            if self._picture_thread is None:
                self._picture_thread = threading.Thread(target=self._make_pictures, name="bridge-picture", daemon=True)
                self._picture_thread.start()
            self._wake.notify_all()
        if raw_done is not None:
            self.raw_frames_ready.emit(raw_done)

    def _make_pictures(self) -> None:
        lower_this_thread()  # the picture is for a person: inspection comes first
        while True:
            with self._lock:
                self._wake.wait_for(lambda: self._closed or (self._pending is not None and self._latest is None))
                if self._closed:
                    return
                result, self._pending, self._making = self._pending, None, True
                opacity = self.opacity
            try:
                with self.stages.timer("bridge_downscale"):
                    frame = make_live_frame(result, self.max_side, opacity)
            except Exception:  # noqa: BLE001 - a frame that cannot be drawn must not end the live view
                frame = None
                self.draw_failures += 1
                if self.draw_failures == 1:  # the first with its traceback; then counted, not repeated
                    log.exception("live view: frame %s could not be drawn", result.frame_index)
            with self._lock:
                self._making = False
                if frame is not None:
                    self._latest = frame
                    self.frames_made += 1
                # wake the UI even without a picture: the scores still go to the trend plot
                emit = not self._closed and not self._signal_pending
                self._signal_pending = self._signal_pending or emit
                self._wake.notify_all()
            if emit:  # one queued signal at a time: a slow UI sees one wake-up, not a backlog
                try:
                    self.frame_ready.emit()
                except RuntimeError:  # the window is gone
                    return

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Until the picture thread has nothing it may do: no frame waits, or the one waiting
        waits for the UI to take the last picture (tests, screenshots)."""
        with self._lock:
            return self._wake.wait_for(
                lambda: self._closed or (not self._making and (self._pending is None or self._latest is not None)),
                timeout)

    def close(self, timeout: float = 1.0) -> None:
        """Stop the picture thread (the window closes) and wait for it; later frames are ignored."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            thread = self._picture_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)  # a picture being made (~10 ms) finishes, and emits nothing

    def on_preview(self, frame: PreviewFrame) -> None:
        with self.stages.timer("bridge_preview"):
            preview = LivePreview(frame.camera, frame.frame_index, frame.captured_at, frame.source_name,
                                  overlay.fit_longest_side(frame.image, self.preview_max_side))
        with self._lock:
            self.previews_received += 1
            if self._latest_preview is not None:
                self.previews_coalesced += 1
            self._latest_preview = preview
            emit = not self._preview_signal_pending
            self._preview_signal_pending = True
        if emit:
            self.preview_ready.emit()

    def capture_raw(self, count: int) -> None:
        """Keep the next `count` frames at FULL size (enrollment from the live feed)."""
        with self._lock:
            self._raw_wanted, self._raw = count, []

    def _collect_raw(self, result: FrameResult) -> list | None:
        if self._raw_wanted <= 0:
            return None
        self._raw.append((f"live frame {result.frame_index} {result.source_name}".rstrip(), result.image.copy()))
        self._raw_wanted -= 1
        if self._raw_wanted:
            return None
        done, self._raw = self._raw, []
        return done

    def on_alarm(self, event: AlarmEvent) -> None:
        self.alarm.emit(event)

    def on_drift(self, event) -> None:
        self.drift.emit(event)

    def on_notice(self, notice) -> None:
        self.notice.emit(notice)

    def on_camera_state(self, state: CameraState) -> None:
        self.camera_state.emit(state)

    def on_metrics(self, metrics: Metrics) -> None:
        self.metrics.emit(metrics)

    def on_output_state(self, status) -> None:
        self.output_state.emit(status)

    # -- UI side --
    def take_frame(self) -> LiveFrame | None:
        with self._lock:
            frame, self._latest = self._latest, None
            self._signal_pending = False
            self._wake.notify_all()  # the slot is free: the picture thread may make the next
        return frame

    def take_preview(self) -> LivePreview | None:
        with self._lock:
            preview, self._latest_preview = self._latest_preview, None
            self._preview_signal_pending = False
        return preview

    def take_scores(self) -> list[ScorePoint]:
        with self._lock:
            points = list(self._scores)
            self._scores.clear()
        return points
