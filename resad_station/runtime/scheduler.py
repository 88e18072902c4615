"""One inspection thread for several cameras: fair rounds, batches across cameras, one Detector.

Each camera keeps its own capture thread, pipeline (ROI, thresholds, alarms, verdicts) and
recorder; the scheduler only decides whose frames are scored when. A round visits the cameras
in rotating order and gives each one that has frames waiting an equal share of the batch
(`batch_max // cameras waiting`, at least one frame); capacity a camera does not use goes to the
others. So a fast camera cannot starve a slow one: every camera with a frame waiting gets at
least one frame scored per round, whatever the other cameras deliver.

Frames of cameras judged against the same reference set (one product seen by several cameras)
are scored in one `predict_batch` call; the engine splits that into its fastest mini-batches
(on the CPU 4 frames, on CUDA all of them). Cameras with other reference sets are scored back to
back in the same round. A camera whose frames fail keeps its failures (counted, logged with the
frame's name): the others are scored on their own again.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Any, Callable, Sequence

from resad_station.runtime.thread_priority import set_engine_threads
from resad_station.runtime.pipeline import Pipeline, PreparedFrames

log = logging.getLogger(__name__)

IDLE_WAIT_S = 0.005  # between looks at the queues when nothing is waiting (a wake() cuts it short)


class InspectionScheduler:
    def __init__(self, detector: Any, batch_max: int = 4, max_frames: int | None = None,
                 engine_threads: int | None = None) -> None:
        self.detector = detector
        self.engine_threads = engine_threads  # set on the scheduler's thread (thread_priority.set_engine_threads)
        self.batch_max = max(1, int(batch_max))
        self.max_frames = max_frames  # per camera, as `inspect --max-frames`
        self.pipelines: list[Pipeline] = []
        self.rounds = 0
        self.joint_batches = 0  # predict_batch calls that held frames of more than one camera
        self._wake = threading.Condition()
        self._woken = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._turn = 0
        self.finished = threading.Event()  # every camera's finite source ended and all was inspected

    def add(self, pipeline: Pipeline) -> None:
        if self._thread is not None:
            raise RuntimeError("add every camera before the scheduler starts")
        if any(p.camera == pipeline.camera for p in self.pipelines):
            raise ValueError(f"camera {pipeline.camera!r} is scheduled twice")
        self.pipelines.append(pipeline)

    def capture_factory(self, factory: Callable[..., Any]) -> Callable[..., Any]:
        """`factory` (on_state, on_frame) -> CaptureWorker, with a frame tap that also wakes us."""
        def make(on_state: Callable[..., Any], on_frame: Callable[[Any], None]) -> Any:
            def tap(frame: Any) -> None:
                on_frame(frame)
                self.wake()

            return factory(on_state, tap)

        return make

    def wake(self, *_: Any) -> None:
        """A frame arrived somewhere (called from a capture thread); cheap, never blocks for long."""
        with self._wake:
            self._woken = True
            self._wake.notify()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the scheduler is already running")
        self._thread = threading.Thread(target=self._run, name="inspect-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> bool:
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    # -- the inspection thread ---------------------------------------------------------------------

    def _run(self) -> None:
        set_engine_threads(self.engine_threads)
        try:
            while not self._stop.is_set():
                all_ended = self._finish_ended()  # every round: a busy camera must not hide an ended one
                taken = self.take_round()
                if taken:
                    self.rounds += 1
                    self._inspect(taken)
                elif all_ended:
                    break
                else:
                    self._idle()
                for p in self.pipelines:
                    p.publish_metrics()
        except Exception:  # a bug here must show, and still end the run in order
            log.exception("inspection scheduler failed")
        finally:
            for p in self.pipelines:
                p.publish_metrics(force=True)
                p.finished.set()
            self.finished.set()

    def _left(self, p: Pipeline) -> int:
        if self.max_frames is None:
            return self.batch_max
        return self.max_frames - p.metrics.frames_inspected - p.inspection_errors

    def take_round(self) -> list[tuple[Pipeline, list]]:
        """One fair round: (pipeline, frames) for every camera that gave frames, in visiting order."""
        n = len(self.pipelines)
        if n == 0:
            return []
        start = self._turn % n
        self._turn += 1
        order = [p for p in self.pipelines[start:] + self.pipelines[:start]
                 if not p.finished.is_set() and self._left(p) > 0]
        waiting = [p for p in order if p.capture.queued > 0]
        if not waiting:
            return []
        share = max(1, self.batch_max // len(waiting))
        taken: dict[str, list] = {}
        for p in waiting:  # everyone waiting gets its share first
            got = p.capture.get_many(min(share, self._left(p)), timeout=0)
            if got:
                taken[p.camera] = got
        room = self.batch_max - sum(len(f) for f in taken.values())
        for p in waiting:  # then what nobody used goes round again
            if room <= 0:
                break
            more = min(room, self._left(p) - len(taken.get(p.camera, ())))
            got = p.capture.get_many(more, timeout=0) if more > 0 else []
            if got:
                taken.setdefault(p.camera, []).extend(got)
                room -= len(got)
        return [(p, taken[p.camera]) for p in waiting if p.camera in taken]

    def _inspect(self, taken: Sequence[tuple[Pipeline, list]]) -> None:
        prepared = [(p, b) for p, frames in taken if (b := p.prepare(frames)) is not None]
        by_refs: dict[tuple, list[tuple[Pipeline, PreparedFrames]]] = defaultdict(list)
        for p, batch in prepared:
            by_refs[_refs_key(batch)].append((p, batch))
        for group in by_refs.values():
            if len(group) == 1:
                p, batch = group[0]
                p.decide(batch, p.predict(batch))
                continue
            images = [image for _, batch in group for image in batch.images]
            try:
                preds = self.detector.predict_batch(images, group[0][1].active.refs)
                self.joint_batches += 1
            except Exception:  # noqa: BLE001 - find the camera at fault: each scored on its own
                for p, batch in group:
                    p.decide(batch, p.predict(batch))
                continue
            at = 0
            for p, batch in group:
                p.decide(batch, preds[at:at + len(batch.images)])
                at += len(batch.images)

    def _finish_ended(self) -> bool:
        """Mark cameras whose source ended (and were drained) finished; True when all have."""
        for p in self.pipelines:
            if not p.finished.is_set() and (p.capture.done or self._left(p) <= 0):
                p.publish_metrics(force=True)
                p.finished.set()
        return all(p.finished.is_set() for p in self.pipelines)

    def _idle(self) -> None:
        with self._wake:
            if not self._woken:
                self._wake.wait(IDLE_WAIT_S)
            self._woken = False


def _refs_key(batch: PreparedFrames) -> tuple:
    # Cameras on the same product hold equal reference sets loaded separately: the stored version
    # identifies them (thresholds may differ per camera; scoring does not use them).
    a = batch.active
    if a.product_id is not None and a.reference_set_version is not None:
        return ("stored", a.product_id, a.reference_set_version)
    return ("object", id(a.refs))
