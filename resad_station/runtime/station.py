"""The Station: the one object the GUI and the CLI drive (profile -> database -> engine -> pipeline).

    station = Station.open("demo", data_dir=None, db_url=None)   # enrolls on first run if needed
    station.add_listener(listener); station.start(); ...; station.stop(); station.close()

Setters (thresholds, product, reference version, alarm acknowledge) are safe from any thread
and apply from the next frame on. The first time a profile's product has no reference set, it
is enrolled from the profile's enrollment.references folder.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from engine import Detector
from resad_station import paths
from resad_station.capture import CaptureWorker, open_source
from resad_station.enrollment import enroll as enrollment
from resad_station.enrollment.quality import Shot
from resad_station.enrollment.teach import teach_as_good
from resad_station.profiles import Profile, find_profile, load_profile
from resad_station.runtime.alarms import AlarmMachine
from resad_station.runtime.events import RuntimeListener
from resad_station.runtime.heap import freeze_startup_heap, thaw_heap
from resad_station.runtime.drift import DriftMonitor, DriftSettings, DriftWatch, write_drift_event
from resad_station.runtime.listeners import ListenerSet
from resad_station.runtime.output_link import close_outputs, open_outputs, status_dict
from resad_station.runtime.pipeline import ActiveProduct, Pipeline
from resad_station.runtime.profile_audit import record_profile
from resad_station.runtime.recorder import Recorder, RecordingPolicy
from resad_station.runtime.sources import source_for
from resad_station.runtime.stage_times import StageTimes
from resad_station.runtime.station_references import StationError, StationReferences
from resad_station.runtime.storage_sink import DatabaseSink
from resad_station.runtime.verdict import Thresholds
from resad_station.storage import Database, open_station_database
from resad_station.outputs import OutputSet
from resad_station.storage import repository as repo


# frames waiting in a backlog are inspected together: 4 is the CPU engine's fastest mini-batch
BATCH_MAX = {"cpu": 4, "cuda": 8}


def engine_threads(profile: Profile) -> int:
    """The engine's CPU threads while the line runs: engine.threads, or one fewer than the cores,
    since the capture and recorder threads need one (enrollment and the CLI tools keep torch's
    default, one per core)."""
    return profile.engine.threads or max(1, (os.cpu_count() or 2) - 1)


# the engine fields that make one detector: profiles that differ in one of them cannot share it
ENGINE_SETUP = ("input_size", "method", "score_levels", "search", "augment", "align", "image_score",
                "local_features", "device", "weights")


def _weights_file(profile: Profile) -> str | None:
    """The profile's head weights as a path (relative to its file), or None: the bundled model."""
    return str(profile.resolve_path(profile.engine.weights)) if profile.engine.weights else None


def engine_setup(profile: Profile) -> dict[str, Any]:
    return {n: _weights_file(profile) if n == "weights" else getattr(profile.engine, n) for n in ENGINE_SETUP}


def setup_difference(a: Profile, b: Profile) -> str:
    """'engine.search: 'guided' vs 'wide'; ...' for the set-up fields a and b differ in ('' if none)."""
    x, y = engine_setup(a), engine_setup(b)
    return "; ".join(f"engine.{n}: {x[n]!r} vs {y[n]!r}" for n in ENGINE_SETUP if x[n] != y[n])


def load_detector(profile: Profile, data_dir: Path | None = None) -> Detector:
    e = profile.engine
    if e.threads:  # process-wide; ONNX Runtime's sessions take the same count
        torch.set_num_threads(e.threads)
    weights = _weights_file(profile)
    levels = None if e.score_levels == [1, 2, 3] else e.score_levels  # None: the paper's default, all three
    return Detector.load(weights=weights, device=e.device, input_size=e.input_size, method=e.method,
                         score_levels=levels, search=e.search, augment=e.augment, align=e.align, image_score=e.image_score,
                         local_features=e.local_features, **onnx_options(profile, data_dir))


def onnx_options(profile: Profile, data_dir: Path | None) -> dict:
    """engine.runtime onnxruntime: the profile's exported graph, or the data dir's export cache."""
    e = profile.engine
    if e.runtime == "torch":
        return {}
    if e.onnx:
        return {"runtime": e.runtime, "onnx_file": str(profile.resolve_path(e.onnx))}
    return {"runtime": e.runtime, "onnx_cache": str(paths.onnx_cache_dir(paths.resolve_data_dir(data_dir)))}


def resolve_profile(profile: Profile | str | os.PathLike, data_dir: Path | None = None) -> Profile:
    if isinstance(profile, Profile):
        return profile
    return load_profile(find_profile(profile, data_dir))


class Station(StationReferences):  # active references, rebuild, recalibration, first run: station_references.py
    def __init__(self, profile: Profile, db: Database, data_dir: Path, *, source: str | None = None,
                 max_frames: int | None = None, detector: Detector | None = None, trial: bool = False,
                 progress: Callable[[str], None] | None = None) -> None:
        self.profile = profile
        self.trial = trial  # an override for a trial: never rewrite a stored calibration (see _recalibrate)
        self.progress = progress or (lambda message: None)
        self.db = db
        self.data_dir = data_dir
        self.source_override = source
        self.max_frames = max_frames
        self.listeners = ListenerSet()
        self.stages = StageTimes()  # where the time goes, capture to stored record (inspect --stats)
        self.sink = DatabaseSink(db, stages=self.stages)
        if detector is None:
            self.progress(f"loading the engine ({profile.engine.method}, device {profile.engine.device})")
        self.detector = detector or load_detector(profile, data_dir)
        self._lock = threading.RLock()
        self.pipeline: Pipeline | None = None
        self.outputs = OutputSet([])  # the profile's line outputs, while running
        self.profile_change = record_profile(db, profile)  # edited or shadowed since it last ran: audited
        self.drift: DriftWatch | None = None  # while running, when the profile's drift warning is on
        self.active = self._active_product(profile)
        self.started_at = 0.0

    @classmethod
    def open(cls, profile: Profile | str | os.PathLike, data_dir: str | os.PathLike | None = None,
             db_url: str | None = None, **kwargs: Any) -> "Station":
        data_dir = paths.resolve_data_dir(data_dir)
        profile = resolve_profile(profile, data_dir)
        db = open_station_database(data_dir, db_url)
        try:
            return cls(profile, db, data_dir, **kwargs)
        except BaseException:
            db.close()
            raise

    # -- lifecycle ----------------------------------------------------------------------------

    def add_listener(self, listener: RuntimeListener) -> None:
        self.listeners.add(listener)

    def remove_listener(self, listener: RuntimeListener) -> None:
        self.listeners.remove(listener)

    def _capture_factory(self, on_state, on_frame):
        cam = self.profile.camera
        kind, uri = source_for(self.profile, self.source_override)
        settings = {k: v for k, v in (("exposure", cam.exposure), ("gain", cam.gain), ("trigger", cam.trigger)) if v is not None}

        def make_source():
            source = open_source(kind, uri, base_dir=self.profile.base_dir, fps=cam.fps, loop=cam.loop,
                                 name=cam.name, settings=settings)
            source.max_megapixels = cam.max_megapixels  # refused at decode, before any pixel is allocated
            return source

        return CaptureWorker(make_source, cam.mode, on_state, queue_size=max(8, self.profile.recording.queue_size // 8),
                             camera=cam.name, on_frame=on_frame, roi=cam.roi, stages=self.stages)

    def start(self, scheduler: Any = None) -> None:
        """Start the line; with an InspectionScheduler (several cameras) it inspects this camera's
        frames on its shared thread instead of a thread of this station's own."""
        with self._lock:
            if self.pipeline is not None:
                raise StationError("the station is already running")
            p = self.profile
            recorder = Recorder(self.sink, p.camera.name, RecordingPolicy.from_values(
                p.recording.keep_images, p.recording.pass_sampling), queue_size=p.recording.queue_size)
            alarm = AlarmMachine(p.camera.name, self.active.name, p.thresholds.debounce_frames, p.alarm.latch)
            factory = self._capture_factory if scheduler is None else scheduler.capture_factory(self._capture_factory)
            self.pipeline = Pipeline(
                p.camera.name, factory, self.detector, self.active, recorder, alarm,
                batch_max=BATCH_MAX.get(self.detector.device.type, BATCH_MAX["cpu"]), stages=self.stages,
                max_frames=self.max_frames, alarm_store=self.sink.write_alarm, listeners=self.listeners,
                max_verdict_delay_s=p.alarm.max_verdict_delay_s, alarm_on_falling_behind=p.alarm.on_falling_behind,
                engine_threads=engine_threads(p),
            )
            self._start_drift(recorder)
            # the why view reads the reference shots once; on the recorder thread, before the first defect
            recorder.submit_task(lambda a=self.active: self.sink.why.shots.get(a.name, a.reference_set_version))
            self.started_at = time.time()
            self.outputs = open_outputs(self)  # before the first frame, so none goes unsent
            freeze_startup_heap()  # the line is set up: full collections skip it from now on (runtime/heap.py)
            if scheduler is not None:
                scheduler.add(self.pipeline)
            self.pipeline.start(own_thread=scheduler is None)

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop capture and inspection, flush the recorder; True when every thread joined in time."""
        with self._lock:
            pipeline = self.pipeline
        if pipeline is None:
            return True
        joined = pipeline.stop(timeout)
        joined &= close_outputs(self, self.outputs, max(timeout, 2.0))
        thaw_heap()  # what this run froze at its start can be collected once dropped
        with self._lock:
            self.last_pipeline, self.pipeline = pipeline, None
            if self.drift is not None:
                self.listeners.remove(self.drift)
                self.drift = None
        return joined

    def wait(self, timeout: float | None = None) -> bool:
        """Until a finite source (or --max-frames) is done; True when it is."""
        pipeline = self.pipeline
        return pipeline.wait(timeout) if pipeline is not None else True

    def close(self) -> None:
        self.stop()
        self.db.close()

    def __enter__(self) -> "Station":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operator and engineer actions (any thread) ------------------------------------------------

    def raise_alarm(self, message: str, camera: str | None = None) -> bool:
        """An alarm from outside the verdicts (a reject gate missed); False when not running."""
        pipeline = self.pipeline
        return bool(pipeline and pipeline.raise_alarm(message))

    def acknowledge_alarm(self, actor: str = "operator") -> bool:
        pipeline = self.pipeline
        return bool(pipeline and pipeline.acknowledge_alarm(f"acknowledged by {actor}", actor=actor))

    def set_thresholds(self, t_uncertain: float, t_fail: float, actor: str = "engineer") -> Thresholds:
        thresholds = Thresholds(float(t_uncertain), float(t_fail))
        with self._lock:
            active = self.active
            old = active.thresholds
            self._set_active(replace(active, thresholds=thresholds))
        with self.db.session() as s:  # one transaction: the new thresholds and their audit row
            rs = repo.active_reference_set(s, active.name)  # the product they were set for, even if switched since
            if rs is not None and rs.version == active.reference_set_version:  # kept for the next start
                cal = dict(rs.calibration)
                cal.setdefault("proposed_t_uncertain", cal.get("t_uncertain"))
                cal.setdefault("proposed_t_fail", cal.get("t_fail"))
                cal.update(t_uncertain=thresholds.t_uncertain, t_fail=thresholds.t_fail, thresholds_set_by=actor)
                repo.set_calibration(s, rs.id, cal)
            repo.add_audit_event(s, actor, "thresholds_changed", {
                "product": active.name, "camera": self.profile.camera.name, "from": [old.t_uncertain, old.t_fail],
                "to": [thresholds.t_uncertain, thresholds.t_fail]})
        return thresholds

    def _set_active(self, active: ActiveProduct) -> None:
        old, self.active = self.active, active
        if self.pipeline is not None:
            self.pipeline.set_active(active)
        if self.drift is not None and (old.name, old.reference_set_version) != (active.name, active.reference_set_version):
            self.drift.reset(active.name, self._active_calibration(active.name))

    def _active_calibration(self, product: str) -> dict:
        with self.db.read_session() as s:
            rs = repo.active_reference_set(s, product)
        return dict(rs.calibration) if rs is not None else {}

    def _start_drift(self, recorder: Recorder) -> None:
        # The drift warning listens to frames like the UI does; its audit rows go through the recorder.
        settings = DriftSettings.of(self.profile.drift)
        if not settings.enabled:
            return
        monitor = DriftMonitor(settings, self.profile.camera.name, self.active.name,
                               self._active_calibration(self.active.name))
        self.drift = DriftWatch(monitor, self.listeners,
                                store=lambda e: recorder.submit_task(lambda: write_drift_event(self.db, e)))
        self.listeners.add(self.drift)

    def switch_product(self, profile: Profile | str | os.PathLike, actor: str = "operator") -> ActiveProduct:
        """Inspect another product from the next frame on (same camera; camera settings stay)."""
        new = resolve_profile(profile, self.data_dir)
        diff = setup_difference(self.profile, new)
        if diff:
            raise StationError(f"profile {new.name!r} needs another engine set-up ({diff}): stop and open it instead")
        change = record_profile(self.db, new)
        self.profile_change = change or self.profile_change
        active = self._active_product(new)
        old_product = self.active.name
        with self._lock:
            self.profile = new
            self._set_active(active)
            if self.pipeline is not None:
                self.pipeline.configure_alarm(new.thresholds.debounce_frames, new.alarm.latch)
                self.pipeline.recorder.set_policy(RecordingPolicy.from_values(
                    new.recording.keep_images, new.recording.pass_sampling))
        with self.db.session() as s:
            repo.add_audit_event(s, actor, "product_switched", {"from": old_product, "to": new.product,
                                                                "profile": new.name})
        return active

    def prepare_enrollment(self, images: Sequence[str | os.PathLike | np.ndarray | Shot] = (), *,
                           frames: Sequence[np.ndarray | Shot] = (), product: str | None = None,
                           profile: Profile | str | os.PathLike | None = None, k: int | None = None,
                           validation: Sequence[str | os.PathLike | np.ndarray | Shot] = (),
                           source: str = "file", progress=None) -> enrollment.EnrollmentDraft:
        """Check, build and calibrate a reference set; stores nothing (save_enrollment() does).

        `images`: files, folders or frames, cut to the profile's ROI; `frames`: live frames the
        pipeline already cut to the ROI. Slow (the engine runs): call it from a worker thread.
        It uses the station's own detector, which serves several threads at once, so the line
        keeps inspecting meanwhile (more slowly while both run).
        """
        profile = resolve_profile(profile, self.data_dir) if profile is not None else self.profile
        return enrollment.prepare_items(
            self.detector, profile, images, frames=frames, product=product, k=k,
            validation=validation, source=source, progress=progress)

    def save_enrollment(self, draft: enrollment.EnrollmentDraft, *, actor: str = "engineer", note: str = "",
                        details: dict[str, Any] | None = None) -> enrollment.EnrollmentResult:
        """Store a draft as the product's new active version; the running line switches if it is this product."""
        result = enrollment.save(self.db, draft, actor=actor, note=note, details=details)
        self._reload_if_running(result.product)
        return result

    def enroll(self, images: Sequence[str | os.PathLike | np.ndarray], *, product: str | None = None,
               profile: Profile | None = None, k: int | None = None,
               validation: Sequence[str | os.PathLike | np.ndarray] = (), source: str = "file",
               actor: str = "engineer", note: str = "") -> enrollment.EnrollmentResult:
        """Enroll from files or frames (ROI applied): prepare_enrollment() then save_enrollment()."""
        draft = self.prepare_enrollment(images, product=product, profile=profile, k=k, validation=validation,
                                        source=source)
        return self.save_enrollment(draft, actor=actor, note=note)

    def activate_version(self, version: int, product: str | None = None, actor: str = "engineer") -> None:
        enrollment.activate_version(self.db, product or self.active.name, version, actor)
        self._reload_if_running(product or self.active.name)

    def teach_as_good(self, defect_id: int, actor: str = "reviewer") -> enrollment.EnrollmentResult:
        result = teach_as_good(self.db, self.detector, defect_id, actor)
        self._reload_if_running(result.product)
        return result

    def _reload_if_running(self, product: str) -> None:
        if getattr(self, "active", None) is not None and product == self.active.name:
            with self._lock:
                self._set_active(self._active_product(self.profile))

    # -- reporting ----------------------------------------------------------------------------------

    def metrics(self):
        pipeline = self.pipeline or getattr(self, "last_pipeline", None)
        return pipeline.snapshot_metrics() if pipeline else None

    def summary(self) -> dict[str, Any]:
        """The run's totals for `inspect --stats`."""
        pipeline = self.pipeline or getattr(self, "last_pipeline", None)
        m = self.metrics()
        out: dict[str, Any] = {
            "profile": self.profile.name, "product": self.active.name,
            "reference_set_version": self.active.reference_set_version,
            "method": self.detector.method, "device": str(getattr(self.detector, "device", "")),
            "t_uncertain": self.active.thresholds.t_uncertain, "t_fail": self.active.thresholds.t_fail,
        }
        if m is None:
            return out
        elapsed = max(time.time() - self.started_at, 1e-9)
        out.update({
            "elapsed_s": round(elapsed, 3), "frames_captured": m.frames_captured,
            "frames_inspected": m.frames_inspected, "frames_dropped": m.frames_dropped,
            "frames_corrupt": m.frames_corrupt, "inspection_errors": m.inspection_errors,
            "fps": round(m.frames_inspected / elapsed, 3), "counts": m.counts,
            "latency_ms": {k: round(v, 2) for k, v in pipeline.metrics.run_latency_percentiles().items()},
            "recorder": {"written": pipeline.recorder.written, "skipped": pipeline.recorder.skipped,
                         "sampled_out": pipeline.recorder.sampled_out, "max_queue": pipeline.recorder.max_depth,
                         "write_errors": pipeline.recorder.write_errors},
            # Triggered frames still queued when stop() came: not inspected, but counted here.
            "frames_not_inspected_at_stop": max(0, m.frames_captured - m.frames_dropped - m.frames_inspected
                                                - m.inspection_errors),
            "alarm_active": m.alarm_active,
            "outputs": [status_dict(s) for s in self.outputs.statuses()],
            "stages_ms": self.stages.summary(),  # the whole path, stage by stage (docs/benchmarks.md)
        })
        return out
