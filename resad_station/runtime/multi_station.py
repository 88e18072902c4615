"""Several cameras in one station: one Station per camera profile, one Detector, one scheduler.

    line = MultiStation.open(["top.yaml", "side.yaml"], data_dir, db_url)
    line.add_listener(listener); line.start(); ...; line.stop(); line.close()

Each camera has its own profile, so its own capture thread, product, reference set, thresholds,
alarm and recorder rows (tagged with its camera name); they share the database, the Detector and
one InspectionScheduler (runtime/scheduler.py), which inspects every camera's frames fairly on
one thread. A product switch, a threshold change or an acknowledged alarm on one camera leaves
the others as they were. The engine set-up (input size, method, levels, search, device,
weights) is one for the station, since one Detector serves every camera.

A line file lists the profiles, one per line (`#` comments; relative paths are relative to the
file): `inspect --line LINE.txt` is `inspect --profile A --profile B ...`.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

from resad_station import paths
from resad_station.profiles import Profile
from resad_station.runtime.events import CameraStatus, Metrics
from resad_station.runtime.scheduler import InspectionScheduler
from resad_station.runtime.station import (BATCH_MAX, Station, StationError, engine_threads, load_detector,
                                            resolve_profile, setup_difference)
from resad_station.storage import open_station_database

MAX_CAMERAS = 16
LINE_FILE_MAX_BYTES = 16 * 1024


def read_line_file(path: str | os.PathLike) -> list[str]:
    """The profiles a line file lists (relative entries resolved against its folder)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StationError(f"line file {path}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > LINE_FILE_MAX_BYTES:
        raise StationError(f"line file {path}: {len(raw)} bytes; a line file is at most {LINE_FILE_MAX_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StationError(f"line file {path}: not UTF-8 text; expected one profile per line") from None
    entries = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            candidate = path.parent / entry
            entries.append(str(candidate) if not Path(entry).is_absolute() and candidate.exists() else entry)
    if not entries:
        raise StationError(f"line file {path}: lists no profile; expected one profile (file or name) per line")
    return entries


def check_cameras(profiles: Sequence[Profile]) -> None:
    """Several profiles can share a station: distinct camera names, one engine set-up."""
    if not 1 <= len(profiles) <= MAX_CAMERAS:
        raise StationError(f"a station runs 1 to {MAX_CAMERAS} cameras (got {len(profiles)} profiles)")
    seen: dict[str, Profile] = {}
    for p in profiles:
        if p.camera.name in seen:
            raise StationError(f"profiles {seen[p.camera.name].name!r} and {p.name!r} both name their camera "
                               f"{p.camera.name!r}: give each camera its own camera.name")
        seen[p.camera.name] = p
    first = profiles[0]
    for p in profiles[1:]:
        diff = setup_difference(first, p)
        if diff:
            raise StationError(f"profile {p.name!r} needs another engine set-up than {first.name!r} "
                               f"({diff}): the cameras of one station share one engine")


class MultiStation:
    def __init__(self, stations: Sequence[Station], max_frames: int | None = None) -> None:
        self.stations = list(stations)
        self.detector = self.stations[0].detector
        self.db = self.stations[0].db
        self.max_frames = max_frames
        self.scheduler: InspectionScheduler | None = None
        self.last_scheduler: InspectionScheduler | None = None
        self.started_at = 0.0
        self._lock = threading.Lock()

    @classmethod
    def open(cls, profiles: Sequence[Profile | str | os.PathLike], data_dir: str | os.PathLike | None = None,
             db_url: str | None = None, *, max_frames: int | None = None, trial: bool = False,
             progress: Callable[[str], None] | None = None) -> "MultiStation":
        data_dir = paths.resolve_data_dir(data_dir)
        resolved = [resolve_profile(p, data_dir) for p in profiles]
        check_cameras(resolved)
        db = open_station_database(data_dir, db_url)
        try:
            e = resolved[0].engine
            if progress is not None:
                progress(f"loading the engine for {len(resolved)} cameras ({e.method}, device {e.device})")
            detector = load_detector(resolved[0])
            return cls([Station(p, db, data_dir, max_frames=max_frames, detector=detector, trial=trial,
                                progress=progress) for p in resolved], max_frames=max_frames)
        except BaseException:
            db.close()
            raise

    @property
    def cameras(self) -> list[str]:
        return [s.profile.camera.name for s in self.stations]

    def station(self, camera: str) -> Station:
        for s in self.stations:
            if s.profile.camera.name == camera:
                return s
        raise StationError(f"no camera named {camera!r} in this station (cameras: {', '.join(self.cameras)})")

    def add_listener(self, listener: Any, combined_metrics: bool = False) -> None:
        """Events of every camera (each names its camera); combined_metrics: one Metrics summing
        all cameras instead of one per camera (the headless status line)."""
        target = CombinedMetrics(listener, len(self.stations)) if combined_metrics else listener
        for s in self.stations:
            s.add_listener(target)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self.scheduler is not None:
                raise StationError("the station is already running")
            scheduler = InspectionScheduler(self.detector, BATCH_MAX.get(self.detector.device.type, BATCH_MAX["cpu"]),
                                            self.max_frames, engine_threads(self.stations[0].profile))
            self.started_at = time.time()
            for s in self.stations:
                s.start(scheduler)
            scheduler.start()
            self.scheduler = scheduler

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop inspection, then every camera (capture, recorder flush); True when all joined in time."""
        with self._lock:
            scheduler, self.scheduler = self.scheduler, None
        if scheduler is None:
            return True
        self.last_scheduler = scheduler
        deadline = time.monotonic() + timeout
        joined = scheduler.stop(timeout)
        for s in self.stations:
            joined = s.stop(max(0.05, deadline - time.monotonic())) and joined
        return joined

    def wait(self, timeout: float | None = None) -> bool:
        scheduler = self.scheduler
        return scheduler.finished.wait(timeout) if scheduler is not None else True

    def close(self) -> None:
        self.stop()
        for s in self.stations:
            s.close()

    def __enter__(self) -> "MultiStation":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def acknowledge_alarm(self, actor: str = "operator") -> bool:
        """Acknowledge every camera's open alarm; True when there was one."""
        return any([s.acknowledge_alarm(actor) for s in self.stations])

    def failed_cameras(self) -> list[str]:
        """Cameras whose capture is FAILED now (it still retries, every few seconds)."""
        return [s.profile.camera.name for s in self.stations
                if s.pipeline is not None and s.pipeline.camera_state.status is CameraStatus.FAILED]

    # -- reporting ----------------------------------------------------------------------------------

    def metrics(self) -> Metrics | None:
        """Every camera's rolling metrics summed up (as the headless status line shows them)."""
        combined = CombinedMetrics(None, len(self.stations))
        latest = [m for m in (s.metrics() for s in self.stations) if m is not None]
        return combined.combine(latest) if latest else None

    def summary(self) -> dict[str, Any]:
        """Per camera what `inspect --stats` reports for one, plus the station's totals."""
        cameras = {s.profile.camera.name: s.summary() for s in self.stations}
        totals: dict[str, Any] = {}
        for key in ("frames_captured", "frames_inspected", "frames_dropped", "frames_corrupt", "inspection_errors",
                    "frames_not_inspected_at_stop"):
            totals[key] = sum(c.get(key, 0) for c in cameras.values())
        totals["counts"] = {v: sum(c.get("counts", {}).get(v, 0) for c in cameras.values())
                            for v in ("pass", "uncertain", "fail")}
        p95 = [c["latency_ms"]["p95_ms"] for c in cameras.values() if c.get("latency_ms", {}).get("p95_ms") is not None]
        totals["latency_p95_ms_worst_camera"] = max(p95) if p95 else None
        scheduler = self.scheduler or self.last_scheduler
        if scheduler is not None:
            totals["scheduler"] = {"rounds": scheduler.rounds, "joint_batches": scheduler.joint_batches,
                                   "batch_max": scheduler.batch_max}
        totals["elapsed_s"] = round(max(time.time() - self.started_at, 1e-9), 3) if self.started_at else 0.0
        return {"cameras": cameras, "totals": totals, "method": self.detector.method,
                "device": str(getattr(self.detector, "device", ""))}


class CombinedMetrics:
    """A listener wrapper: every event passes through, except Metrics, which it sums over cameras."""

    def __init__(self, listener: Any, cameras: int) -> None:
        self.listener = listener
        self.cameras = cameras
        self._latest: dict[str, Metrics] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:  # on_frame, on_alarm, on_preview, on_camera_state...
        if name.startswith("on_") and name != "on_metrics":
            return getattr(self.listener, name)
        raise AttributeError(name)

    def on_metrics(self, m: Metrics) -> None:
        fn = getattr(self.listener, "on_metrics", None)
        if fn is None:
            return
        with self._lock:
            self._latest[m.camera] = m
            ms = list(self._latest.values())
        fn(self.combine(ms))

    def combine(self, ms: Sequence[Metrics]) -> Metrics:
        counts: dict[str, int] = {}
        for x in ms:
            for k, v in x.counts.items():
                counts[k] = counts.get(k, 0) + v
        return replace(
            ms[0], camera=f"{self.cameras} cameras", fps=sum(x.fps for x in ms),
            latency_p50_ms=max(x.latency_p50_ms for x in ms), latency_p95_ms=max(x.latency_p95_ms for x in ms),
            frames_captured=sum(x.frames_captured for x in ms), frames_inspected=sum(x.frames_inspected for x in ms),
            frames_dropped=sum(x.frames_dropped for x in ms), recorder_skipped=sum(x.recorder_skipped for x in ms),
            counts=counts, alarm_active=any(x.alarm_active for x in ms),
            inspection_errors=sum(x.inspection_errors for x in ms), frames_corrupt=sum(x.frames_corrupt for x in ms),
            falling_behind="; ".join(f"{x.camera}: {x.falling_behind}" for x in ms if getattr(x, "falling_behind", "")))
