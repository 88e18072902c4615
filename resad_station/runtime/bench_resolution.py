"""Benchmark of the whole station at camera resolution: a 1080p or 5 MP MJPG camera, headless.

    python -m resad_station.runtime.bench_resolution --size 1080p --fps 30 --mode live --seconds 40
    python -m resad_station.runtime.bench_resolution --size 5mp --fps 10 --mode triggered --seconds 40

The camera is a video of the profile's line at that size (runtime/bench_video.py) with the part's
box as camera.roi (`--no-roi`: the whole frame goes to the engine). Prints the run's summary
(inspected per second, capture-to-verdict p50/p95, drops, recorder queue) and where the time
went, stage by stage, as `inspect --stats` reports it. A benchmark, not a test: the numbers
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from resad_station.runtime.bench_video import SIZES, camera_shots, make_line_video
from resad_station.runtime.stage_times import stage_table
from resad_station.runtime.station import Station, engine_threads, resolve_profile


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--size", choices=sorted(SIZES), default="1080p")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--mode", choices=("live", "triggered"), default="live")
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--no-roi", action="store_true", help="no camera ROI: the whole frame goes to the engine")
    ap.add_argument("--threads", type=int, help="engine.threads (default: the profile's; unset: cores - 1)")
    ap.add_argument("--runtime", choices=("torch", "onnxruntime"), help="engine.runtime (default: the profile's)")
    ap.add_argument("--data-dir", help="default: a fresh temporary folder (enrolls the demo first)")
    ap.add_argument("--json", help="also write the summary here")
    args = ap.parse_args(argv)

    profile = resolve_profile(args.profile, None)
    work = tempfile.mkdtemp(prefix="resad-bench-")
    video, roi = make_line_video(profile.resolve_path(profile.camera.uri), SIZES[args.size], args.fps, out_dir=work)
    shots = camera_shots(profile.resolve_path(profile.enrollment.references), SIZES[args.size], work)
    camera = profile.camera.model_copy(update={"mode": args.mode, "fps": args.fps, "loop": True,
                                               "roi": None if args.no_roi else roi})
    enrollment = profile.enrollment.model_copy(update={"references": str(shots)})
    # a product of its own: the shots are enrolled at camera size, cut by the same ROI as the frames
    engine = profile.engine.model_copy(update={k: v for k, v in (("runtime", args.runtime), ("threads", args.threads)) if v})
    profile = profile.model_copy(update={"camera": camera, "enrollment": enrollment, "engine": engine,
                                         "product": f"{profile.product}-{args.size}{'-full' if args.no_roi else ''}"})
    data_dir = args.data_dir or f"{work}/data"
    with Station.open(profile, data_dir, source=str(video)) as station:
        station.start()
        time.sleep(args.seconds)
        station.stop(timeout=30)
        summary = station.summary()
    summary["bench"] = {"size": args.size, "frame": list(SIZES[args.size]), "roi": None if args.no_roi else list(roi),
                        "fps": args.fps, "mode": args.mode, "seconds": args.seconds,
                        "engine_threads": engine_threads(profile), "runtime": profile.engine.runtime}
    stages = summary.pop("stages_ms")
    print(json.dumps(summary, indent=2))
    print(stage_table(stages))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(summary | {"stages_ms": stages}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
