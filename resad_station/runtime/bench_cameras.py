"""Benchmark of several cameras in one station: the demo line played by N cameras at once.

    python -m resad_station.runtime.bench_cameras --cameras 2 --fps 15 --mode triggered --seconds 60
    python -m resad_station.runtime.bench_cameras --cameras 4 --fps 10 --mode live --seconds 60
    (either with --runtime onnxruntime, --threads N)

Every camera replays the demo line (its own capture thread, pipeline and recorder) into one
Detector through the shared scheduler. Prints one JSON summary: per camera the frames captured,
inspected, dropped, inspected per second and capture-to-verdict latency p50/p95/max. A
benchmark, not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from resad_station.profiles.model import METHOD_NAMES
from resad_station.runtime.multi_station import MultiStation
from resad_station.runtime.station import resolve_profile


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--cameras", type=int, default=2)
    ap.add_argument("--method", choices=METHOD_NAMES)
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--mode", choices=("live", "triggered"), default="triggered")
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--threads", type=int, help="engine.threads (default: the profile's; unset: cores - 1)")
    ap.add_argument("--runtime", choices=("torch", "onnxruntime"), help="engine.runtime (default: the profile's)")
    ap.add_argument("--data-dir", help="default: a fresh temporary folder")
    args = ap.parse_args(argv)

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="resad-bench-cams-")
    base = resolve_profile(args.profile, None)
    engine = {k: v for k, v in (("method", args.method), ("device", args.device), ("threads", args.threads),
                                ("runtime", args.runtime)) if v}
    profiles = [base.model_copy(update={
        "engine": base.engine.model_copy(update=engine),
        "camera": base.camera.model_copy(update={"name": f"cam{i + 1}", "mode": args.mode, "fps": args.fps,
                                                 "loop": True})}) for i in range(args.cameras)]
    with MultiStation.open(profiles, data_dir) as line:
        line.start()
        time.sleep(args.seconds)
        joined = line.stop(timeout=5)
        summary = line.summary()
    rows = {}
    for camera, s in summary["cameras"].items():
        elapsed = s.get("elapsed_s") or args.seconds
        rows[camera] = {"captured": s.get("frames_captured"), "inspected": s.get("frames_inspected"),
                        "dropped": s.get("frames_dropped"), "inspected_per_s": round(s.get("frames_inspected", 0) / elapsed, 2),
                        "latency_ms": s.get("latency_ms"), "not_inspected_at_stop": s.get("frames_not_inspected_at_stop")}
    print(json.dumps({"cameras": args.cameras, "fps": args.fps, "mode": args.mode, "seconds": args.seconds,
                      "method": summary["method"], "device": summary["device"], "runtime": profiles[0].engine.runtime,
                      "engine_threads": profiles[0].engine.threads, "stopped_cleanly": joined,
                      "per_camera": rows, "totals": summary["totals"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
