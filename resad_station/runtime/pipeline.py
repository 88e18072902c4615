"""One camera's live inspection: capture worker -> inspection thread -> verdicts, alarms, recorder.

The inspection thread takes whatever frames are waiting (up to `batch_max`) and scores them in
one `predict_batch` call, so a backlog is worked off faster than frame by frame. What it
inspects against (product, reference set, thresholds) is one immutable `ActiveProduct` snapshot
that setters swap under a lock. A change applies from the next frame decided after the setter
returns, also inside a batch: a frame whose batch was scored against references that were
replaced meanwhile is scored again (see _inspect).

Everything the thread produces goes to listeners (FrameResult, Metrics, CameraState,
AlarmEvent). The display path does not wait for inspection: the capture thread's frame tap
publishes PreviewFrame at most `preview_fps` times a second, so a live picture follows the
camera while verdicts come at the inspection's pace. Alarm events also go to `alarm_store`
through the recorder thread, so storing them never blocks inspection.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from engine import EngineError
from resad_station.rate_limit import RateLimiter
from resad_station.runtime.alarms import AlarmMachine
from resad_station.runtime.events import (AlarmEvent, CameraState, CameraStatus, FrameResult, Metrics, PreviewFrame,
                                          RuntimeListener)
from resad_station.runtime.listeners import ListenerSet
from resad_station.runtime.metrics import RollingMetrics
from resad_station.runtime.recorder import Recorder
from resad_station.runtime.scale_check import ShotScaleCheck
from resad_station.runtime.stage_times import StageTimes
from resad_station.runtime.thread_priority import set_engine_threads
from resad_station.runtime.verdict import Thresholds, judge

if TYPE_CHECKING:
    from engine import Detector, ReferenceSet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActiveProduct:
    """What frames are judged against; replaced as a whole, never mutated."""

    name: str
    refs: ReferenceSet
    thresholds: Thresholds
    product_id: int | None = None
    reference_set_version: int | None = None


@dataclass(frozen=True)
class PreparedFrames:
    """Frames of one camera (cut to the ROI by the capture thread), with the product snapshot they are judged against."""

    active: ActiveProduct
    frames: list
    images: list


# Previews a second at most: above the 30 fps most cameras run at, so that after a late read the
# frame that catches up is still shown (under a 30/s limit it came too soon after and was skipped:
# 87 % of a 30 fps camera's frames reached the live view in `gui --bench`, 88-92 % at 40); a
# 60 fps camera's other frames are not drawn.
PREVIEW_FPS = 40.0


class Pipeline:
    def __init__(
        self,
        camera: str,
        capture_factory: Callable[..., Any],  # (on_state, on_frame) -> CaptureWorker
        detector: Detector,
        active: ActiveProduct,
        recorder: Recorder,
        alarm: AlarmMachine,
        batch_max: int = 4,
        max_frames: int | None = None,
        metrics_interval_s: float = 0.5,
        alarm_store: Callable[[AlarmEvent], None] | None = None,
        listeners: ListenerSet | None = None,
        preview_fps: float | None = PREVIEW_FPS,
        max_verdict_delay_s: float = 1.0,
        alarm_on_falling_behind: bool = False,
        stages: StageTimes | None = None,
        engine_threads: int | None = None,
    ) -> None:
        self.camera = camera
        self.detector = detector
        self.recorder = recorder
        self.alarm = alarm
        self.stages = stages if stages is not None else StageTimes()
        self.engine_threads = engine_threads  # the engine's CPU threads on this inspection thread
        self.batch_max = max(1, int(batch_max))
        self.max_frames = max_frames
        self.metrics_interval_s = metrics_interval_s
        self.alarm_store = alarm_store
        self.listeners = listeners if listeners is not None else ListenerSet()
        self.metrics = RollingMetrics(camera)
        self.inspection_errors = 0
        self.scale_check = ShotScaleCheck(camera)
        self.finished = threading.Event()  # the source ended (or max_frames reached) and all was inspected
        self.camera_state = CameraState(camera, CameraStatus.STOPPED, time=time.time())
        self._lock = threading.Lock()
        self._active = active
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._last_metrics_at = 0.0
        self._preview_gate = RateLimiter(preview_fps)
        self.max_verdict_delay_s = float(max_verdict_delay_s)
        self.alarm_on_falling_behind = alarm_on_falling_behind
        self._last_delay_s = 0.0
        self._was_behind = False
        self.capture = capture_factory(self.on_camera_state, self.on_captured)

    # -- listeners and setters (any thread) -------------------------------------------------------

    def add_listener(self, listener: RuntimeListener) -> None:
        self.listeners.add(listener)

    def remove_listener(self, listener: RuntimeListener) -> None:
        self.listeners.remove(listener)

    @property
    def active(self) -> ActiveProduct:
        with self._lock:
            return self._active

    def set_active(self, active: ActiveProduct) -> None:
        """Switch product and/or reference set; a new product clears an open alarm of the old one."""
        with self._lock:
            old, self._active = self._active, active
            events = self.alarm.reset(product=active.name) if active.name != old.name else []
        self._emit_alarms(events)

    def set_thresholds(self, thresholds: Thresholds) -> None:
        with self._lock:
            self._active = replace(self._active, thresholds=thresholds)

    def configure_alarm(self, debounce_frames: int | None = None, latch: bool | None = None) -> None:
        with self._lock:
            self.alarm.configure(debounce_frames, latch)

    def raise_alarm(self, message: str) -> list[AlarmEvent]:
        with self._lock:
            events = self.alarm.raise_for(message)
        self._emit_alarms(events)
        return events

    def acknowledge_alarm(self, message: str = "", actor: str = "") -> list[AlarmEvent]:
        with self._lock:
            events = self.alarm.acknowledge(message, actor)
        self._emit_alarms(events)
        return events

    @property
    def alarm_active(self) -> bool:
        with self._lock:
            return self.alarm.active

    # -- lifecycle ----------------------------------------------------------------------------

    def on_camera_state(self, state: CameraState) -> None:
        """Given to the capture worker as its on_state callback."""
        if not isinstance(state, CameraState):  # tolerate a bare status from a source
            state = CameraState(self.camera, CameraStatus(state), time=time.time())
        self.camera_state = state
        self.listeners.publish("on_camera_state", state)

    def on_captured(self, frame: Any) -> None:
        """Given to the capture worker as its frame tap: the display path (capture thread)."""
        if frame.problem or not self._preview_gate.allow():  # a frame the ROI misses: reported by inspection
            return
        self.listeners.publish("on_preview", PreviewFrame(self.camera, frame.index, frame.captured_at, frame.image,
                                                          frame.source_name))

    def start(self, own_thread: bool = True) -> None:
        """Start capture, recorder and (own_thread) this camera's inspection thread; without it an
        InspectionScheduler inspects this pipeline's frames together with other cameras'."""
        if self._started:
            raise RuntimeError(f"pipeline {self.camera} already started")
        self._started = True
        self.recorder.start()
        if own_thread:
            self._thread = threading.Thread(target=self._run, name=f"inspect-{self.camera}", daemon=True)
            self._thread.start()
        self.capture.start()

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop capture and inspection, flush the recorder; True when every thread joined in time."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        self.capture.stop(timeout)
        joined = True
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
            joined = not self._thread.is_alive()
        self.recorder.stop(timeout=max(0.05, deadline - time.monotonic()))
        self._publish_metrics(force=True)
        return joined and self.recorder.joined

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the source ended and every frame was inspected (finite sources)."""
        return self.finished.wait(timeout)

    def snapshot_metrics(self) -> Metrics:
        m = self.metrics.snapshot(
            now=time.time(),
            frames_captured=getattr(self.capture, "captured", 0),
            frames_dropped=getattr(self.capture, "dropped", 0),
            recorder_skipped=self.recorder.skipped,
            alarm_active=self.alarm_active,
        )
        queued = int(getattr(self.capture, "queued", 0))
        delay = self._last_delay_s
        behind = (f"falling behind: {queued} frames queued, verdicts {delay:.1f} s late"
                  if queued and delay > self.max_verdict_delay_s else "")
        return replace(m, inspection_errors=self.inspection_errors,
                       frames_corrupt=getattr(self.capture, "corrupt_skipped", 0),
                       frames_queued=queued, verdict_delay_s=delay, falling_behind=behind)

    # -- inspection thread --------------------------------------------------------------------

    def _run(self) -> None:
        set_engine_threads(self.engine_threads)
        try:
            while not self._stop.is_set():
                want = self.batch_max
                if self.max_frames is not None:
                    want = min(want, self.max_frames - self.metrics.frames_inspected - self.inspection_errors)
                    if want <= 0:
                        break
                frames = self.capture.get_many(want, timeout=0.1)
                if frames:
                    self._inspect(frames)
                elif self.capture.done:  # a finite source ended and every frame was taken
                    break
                self._publish_metrics()
        except Exception:  # a bug here must show, and still end the run in order
            log.exception("pipeline %s: inspection thread failed", self.camera)
        finally:
            self._publish_metrics(force=True)
            self.finished.set()

    def _inspect(self, frames: Sequence[Any]) -> None:
        batch = self.prepare(frames)
        if batch is not None:
            self.decide(batch, self.predict(batch))

    # The three steps of inspecting a batch, public for the multi-camera scheduler, which scores
    # several cameras' prepared frames in one predict_batch when they share a reference set.
    def prepare(self, frames: Sequence[Any]) -> "PreparedFrames | None":
        images, kept = [], []
        now = time.time()
        for frame in frames:
            if frame.problem:
                self._inspection_error(frame, ValueError(frame.problem))
                continue
            self.stages.add("queue_wait", max(0.0, now - frame.captured_at) * 1000.0)
            images.append(frame.image)
            kept.append(frame)
        if not images:
            return None
        active = self.active
        notice = self.scale_check.observe(images[0], active.refs, active.name)  # frames unlike the shots' size
        if notice is not None:
            self.listeners.publish("on_notice", notice)
        return PreparedFrames(active, kept, images)

    def predict(self, batch: "PreparedFrames") -> list[Any]:
        """A prediction per frame; None for a frame the engine could not score (counted, logged)."""
        return self._score(batch.frames, batch.images, batch.active)

    def decide(self, batch: "PreparedFrames", preds: Sequence[Any]) -> None:
        kept, images, active = batch.frames, batch.images, batch.active
        while kept:  # normally once; again from the first frame whose references were replaced
            done = 0
            for frame, image, pred in zip(kept, images, preds):
                if pred is not None and not self._decide(frame, image, pred, active):
                    break
                done += 1
            kept, images = kept[done:], images[done:]
            if kept:
                active = self.active
                preds = self._score(kept, images, active)

    def publish_metrics(self, force: bool = False) -> None:
        self._publish_metrics(force)

    def _score(self, kept: Sequence[Any], images: Sequence[np.ndarray], active: ActiveProduct) -> list[Any]:
        try:
            preds = list(self.detector.predict_batch(list(images), active.refs))
            for pred in preds:  # the engine's stages, per frame (a batch's time shared evenly)
                self.stages.add_many(pred.timings)
            return preds
        except Exception:  # noqa: BLE001 - one bad frame (or a transient device error) must not stop the line
            # Score one by one to find the frame at fault; the others still get their verdict.
            preds = []
            for frame, image in zip(kept, images):
                try:
                    preds.append(self.detector.predict(image, active.refs))
                except Exception as exc:  # noqa: BLE001
                    self._inspection_error(frame, exc)
                    preds.append(None)
            return preds

    def _decide(self, frame: Any, image: np.ndarray, pred: Any, scored_with: ActiveProduct) -> bool:
        """Judge one frame against the snapshot current now; False (nothing decided) when the
        product or reference set changed since the frame was scored: it must be scored again."""
        started = time.perf_counter()
        score = float(pred.score)
        reason = getattr(pred, "reason", "")  # the engine's whole-frame checks: part missing, unlike the references
        with self._lock:  # the verdict's time and its snapshot are taken together: "next frame" is exact
            active = self._active
            if (active.name, active.refs, active.reference_set_version) != (
                    scored_with.name, scored_with.refs, scored_with.reference_set_version):
                return False
            verdict = judge(score, reason, active.thresholds)
            decided_at = time.time()
            events = self.alarm.observe(verdict, score, frame.index)
        result = FrameResult(
            camera=self.camera,
            product=active.name,
            frame_index=frame.index,
            captured_at=frame.captured_at,
            decided_at=decided_at,
            score=score,
            verdict=verdict,
            t_uncertain=active.thresholds.t_uncertain,
            t_fail=active.thresholds.t_fail,
            image=image,
            anomaly_map=pred.grid_map,  # up-sampled only where a picture of it is shown or stored
            timings=dict(pred.timings),
            source_name=frame.source_name,
            nearest=getattr(pred, "nearest", None),
            reference_version=active.reference_set_version,
            reason=reason,
            checks=dict(getattr(pred, "checks", None) or {}),
        )
        self._last_delay_s = max(0.0, decided_at - frame.captured_at)
        self.metrics.record(result.decided_at, result.latency_ms, verdict)
        result = self.recorder.record(result)  # with the reference of its defect row, when it gets one
        published = time.perf_counter()
        self.stages.add("verdict", (published - started) * 1000.0)
        self.listeners.publish("on_frame", result)
        self._emit_alarms(events)
        self.stages.add("listeners", (time.perf_counter() - published) * 1000.0)
        return True

    def _inspection_error(self, frame: Any, exc: Exception) -> None:
        # Counted, logged with the frame's name and shown in Metrics: never a silent loss.
        self.inspection_errors += 1
        log.error("camera %s: frame %s (%s) could not be inspected: %s", self.camera, frame.index, frame.source_name,
                  exc, exc_info=not isinstance(exc, (EngineError, ValueError)))  # unexpected: with traceback

    def _emit_alarms(self, events: Sequence[AlarmEvent]) -> None:
        for event in events:
            self.listeners.publish("on_alarm", event)
            if self.alarm_store is not None:
                self.recorder.submit_task(lambda e=event: self.alarm_store(e))

    def _publish_metrics(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_metrics_at >= self.metrics_interval_s:
            self._last_metrics_at = now
            metrics = self.snapshot_metrics()
            self._check_falling_behind(metrics.falling_behind)
            self.listeners.publish("on_metrics", metrics)

    def _check_falling_behind(self, message: str) -> None:
        # A verdict seconds late is useless to a reject gate: an alarm condition where the profile says so.
        entered = bool(message) and not self._was_behind
        self._was_behind = bool(message)
        if entered:
            log.warning("camera %s: %s", self.camera, message)
            if self.alarm_on_falling_behind:
                with self._lock:
                    events = self.alarm.raise_for(message)
                self._emit_alarms(events)
