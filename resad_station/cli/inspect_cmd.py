"""`resad-station inspect`: run a product profile headless: live status line, optional JSON summary."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time

from resad_station.cli.inspect_status import AlarmKeys, StatusLine
from resad_station.profiles.model import METHOD_NAMES
from resad_station.runtime.metrics import rss_mb

NAME = "inspect"
HELP = "run a product profile headless: live status line, optional JSON summary"

CAMERA_FAILED = 3  # exit status when the camera failed for good (a profile or engine problem is 1)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", action="append", help="profile file, file stem or profile name (e.g. demo); "
                        "repeat it for several cameras (one profile each)")
    parser.add_argument("--line", help="a line file listing the cameras' profiles, one per line (# comments)")
    parser.add_argument("--source", help="inspect this instead of the profile's camera: a video file, an image "
                        "folder, a device index or a stream URL")
    parser.add_argument("--max-frames", type=int, help="stop after inspecting this many frames (per camera)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--stats", action="store_true", help="print a JSON summary at the end")
    over = parser.add_argument_group("overrides of the profile (benchmarks, trials)")
    over.add_argument("--method", choices=METHOD_NAMES, help="engine.method")
    over.add_argument("--device", choices=("auto", "cpu", "cuda"), help="engine.device")
    over.add_argument("--fps", type=float, help="camera.fps (replay / folder / video pacing)")
    over.add_argument("--mode", choices=("live", "triggered"), help="camera.mode")
    over.add_argument("--no-loop", action="store_true", help="camera.loop false: stop at the end of a file source")


def _apply_overrides(profile, args: argparse.Namespace):
    engine = {k: v for k, v in (("method", args.method), ("device", args.device)) if v}
    camera = {k: v for k, v in (("fps", args.fps), ("mode", args.mode)) if v}
    if args.no_loop:
        camera["loop"] = False
    return profile.model_copy(update={
        "engine": profile.engine.model_copy(update=engine), "camera": profile.camera.model_copy(update=camera)})


STOP_GRACE_S = 30.0  # a stop lets the batch being inspected finish (README "Running the line headless")


def failed_for_good(station) -> bool:
    """One camera failed: the end of a one-camera run; with several, only when all of them did."""
    cameras = getattr(station, "failed_cameras", None)
    return cameras is None or len(cameras()) == len(station.stations)


def _interrupt(signum, frame) -> None:
    # the first SIGTERM / SIGINT stops; more of them while stopping must not break the clean stop
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt  # SIGTERM (a service manager, `kill`) stops as cleanly as Ctrl-C


def run(args: argparse.Namespace) -> int:
    from engine import EngineError
    from resad_station.paths import resolve_data_dir
    from resad_station.profiles import ProfileError
    from resad_station.runtime.station import Station, StationError, resolve_profile
    from resad_station.runtime.multi_station import MultiStation, read_line_file
    from resad_station.storage import StorageError

    rss_start = rss_mb()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)
    status = StatusLine()
    try:
        data_dir = resolve_data_dir(args.data_dir)
        names = list(args.profile or []) + (read_line_file(args.line) if args.line else [])
        if not names:
            raise StationError("name the camera profile(s): --profile P (repeatable) or --line LINE_FILE")
        profiles = [_apply_overrides(resolve_profile(n, data_dir), args) for n in names]
        if len(profiles) == 1:
            station = Station.open(profiles[0], data_dir, args.db_url, source=args.source,
                                   max_frames=args.max_frames, trial=bool(args.method), progress=status.progress)
        elif args.source:
            raise StationError("--source replaces one camera's source; with several profiles set each camera in its profile")
        else:
            station = MultiStation.open(profiles, data_dir, args.db_url, max_frames=args.max_frames,
                                        trial=bool(args.method), progress=status.progress)
    except (ProfileError, StationError, StorageError, EngineError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # stopped while loading or enrolling: nothing was running yet
        print("stopped before the line started", file=sys.stderr)
        return 0
    keys = AlarmKeys(station)
    status.ack_hint = keys.hint
    if isinstance(station, MultiStation):
        station.add_listener(status, combined_metrics=True)  # one status line summing the cameras
    else:
        station.add_listener(status)
    interrupted = False
    keys.start()
    all_failed = False
    try:
        station.start()
        deadline = time.monotonic() + args.duration if args.duration else None
        while not station.wait(0.2):
            all_failed = bool(status.failed) and failed_for_good(station)
            if all_failed or (deadline is not None and time.monotonic() >= deadline):
                break
    except KeyboardInterrupt:  # Ctrl-C: stop cleanly, keep what was recorded, still report
        interrupted = True
    finally:
        joined = station.stop(timeout=STOP_GRACE_S)
        status.close(station.metrics())
    summary = station.summary() | {"stopped_cleanly": joined, "interrupted": interrupted,
                                   "camera_states": status.camera_states, "camera_failed": status.failed or None,
                                   "alarms_acknowledged_here": keys.acks,
                                   "rss_mb": {"start": round(rss_start, 1), "end": round(rss_mb(), 1)}}
    station.close()
    if args.stats:
        print(json.dumps(summary, indent=2))
    code = 0
    if status.failed and (all_failed or not isinstance(station, MultiStation)):
        print(f"error: {status.failed} (gave up after the reconnect attempts, about 9 s; check the camera and "
              f"the profile's camera.kind and camera.uri)", file=sys.stderr)
        code = CAMERA_FAILED
    if not joined:
        # a thread is still inside the engine: leaving through the interpreter's teardown would
        # abort ("terminate called without an active exception", exit 134); what was recorded is saved
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
