"""Long-run benchmark of the live line: RSS, throughput, latency and backlog sampled over time.

    python -m resad_station.runtime.bench_line --profile demo --method knn --mode live --fps 60 \
        --seconds 300 --every 15

Prints one line per sample and a JSON summary (RSS growth after warm-up, drops, latency). A
benchmark, not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from resad_station.profiles.model import METHOD_NAMES
from resad_station.runtime.metrics import rss_mb
from resad_station.runtime.station import Station, resolve_profile


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--method", choices=METHOD_NAMES)
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--mode", choices=("live", "triggered"), default="live")
    ap.add_argument("--fps", type=float, default=60.0)
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--every", type=float, default=15.0)
    ap.add_argument("--data-dir", help="default: a fresh temporary folder")
    args = ap.parse_args(argv)

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="resad-bench-")
    profile = resolve_profile(args.profile, None)
    engine = {k: v for k, v in (("method", args.method), ("device", args.device)) if v}
    profile = profile.model_copy(update={
        "engine": profile.engine.model_copy(update=engine),
        "camera": profile.camera.model_copy(update={"mode": args.mode, "fps": args.fps, "loop": True})})
    samples = []
    with Station.open(profile, data_dir) as station:
        station.start()
        t0 = time.monotonic()
        while time.monotonic() - t0 < args.seconds:
            time.sleep(args.every)
            m = station.metrics()
            row = {"t_s": round(time.monotonic() - t0), "rss_mb": round(rss_mb(), 1), "fps": round(m.fps, 2),
                   "p95_ms": round(m.latency_p95_ms, 1), "inspected": m.frames_inspected,
                   "dropped": m.frames_dropped, "capture_queue": getattr(station.pipeline.capture, "queued", 0),
                   "recorder_skipped": m.recorder_skipped}
            samples.append(row)
            print(json.dumps(row), flush=True)
        station.stop()
        summary = station.summary()
    warm = samples[1] if len(samples) > 1 else samples[0]
    summary["rss_growth_after_warmup_mb"] = round(samples[-1]["rss_mb"] - warm["rss_mb"], 1)
    summary["rss_samples_mb"] = [s["rss_mb"] for s in samples]
    summary["capture_queue_samples"] = [s["capture_queue"] for s in samples]
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
