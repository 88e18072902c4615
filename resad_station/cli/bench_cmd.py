"""`resad-station bench`: time each stage of the engine on this machine (real demo images)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from resad_station.profiles.model import ALIGN_NAMES, DEFAULT_ALIGN, AUGMENT_NAMES, METHOD_NAMES, DEFAULT_SEARCH, SEARCH_NAMES

NAME = "bench"
HELP = "time each stage of the engine on this machine"

def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--size", type=int, default=256, help="input short side")
    parser.add_argument("--method", choices=METHOD_NAMES, default="resad")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto (default cpu: the bar is for CPUs)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--weights", help="weights file (default: the bundled model)")
    parser.add_argument("--images", help="folder with reference/ and line/ subfolders (default: the shipped demo)")
    parser.add_argument("--search", choices=SEARCH_NAMES, default=DEFAULT_SEARCH,
                        help="levels searched over every position (see engine.search in a profile)")
    parser.add_argument("--compare-exact", action="store_true", help="also time the exhaustive NN search")
    parser.add_argument("--score", default="max", metavar="RULE",
                        help="image score: max (the map's maximum) or topP, the mean of its top P %% (e.g. top1)")
    parser.add_argument("--local-features", action="store_true", help="3x3 neighbourhood average before matching")
    parser.add_argument("--augment", choices=AUGMENT_NAMES, default="none",
                        help="augmented views of the reference shots join the pools")
    parser.add_argument("--align", choices=ALIGN_NAMES, default=DEFAULT_ALIGN,
                        help="part: shots and frames turned so that their one part lies one way")
    parser.add_argument("--runtime", default="torch", metavar="NAMES",
                        help="torch (the default), or onnxruntime: then both side by side in one run, with how far "
                             "their maps and scores differ")
    parser.add_argument("--onnx", help="exported graph for onnxruntime (default: exported once into the data dir)")
    parser.add_argument("--json", help="write the numbers to this JSON file too")


def _images(folder: Path) -> list:
    from engine.data.mvtec import load_rgb
    from resad_station.capture.imaging import image_files

    files = image_files([folder])
    if not files:
        raise SystemExit(f"bench: no images in {folder}")
    return [load_rgb(p) for p in files]


def run(args: argparse.Namespace) -> int:
    from engine import Detector, EngineError
    from engine.bench import format_bench, run_bench
    from engine.bench_runtimes import format_runtimes, run_runtimes
    from engine.onnx_runtime import RUNTIMES
    from resad_station import paths
    from resad_station.paths import SHIPPED_PROFILES_DIR

    root = Path(args.images) if args.images else SHIPPED_PROFILES_DIR / "demo"
    refs = _images(root / "reference")[: args.shots]
    if len(refs) < args.shots:
        print(f"bench: {root / 'reference'} has {len(refs)} images, --shots {args.shots} needs more", file=sys.stderr)
        return 2
    runtimes = [r.strip() for r in args.runtime.split(",") if r.strip()]
    unknown = [r for r in runtimes if r not in RUNTIMES]
    if not runtimes or unknown or len(set(runtimes)) != len(runtimes):
        print(f"bench: --runtime: expected some of {', '.join(RUNTIMES)}, each once, got {args.runtime!r}", file=sys.stderr)
        return 2
    if "torch" not in runtimes:  # onnxruntime is always shown beside its yardstick
        runtimes.insert(0, "torch")
    frames = _images(root / "line")
    detectors = {}
    for runtime in runtimes:
        onnx = {} if runtime == "torch" else (
            {"onnx_file": args.onnx} if args.onnx else {"onnx_cache": paths.onnx_cache_dir(paths.resolve_data_dir(args.data_dir))})
        try:
            detectors[runtime] = Detector.load(args.weights, device=args.device, input_size=args.size, method=args.method,
                                               search=args.search, image_score=args.score,
                                               local_features=args.local_features, augment=args.augment, align=args.align,
                                               runtime=runtime,
                                               **onnx)
        except EngineError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
    if len(detectors) > 1:
        result = run_runtimes(refs, frames, detectors, args.repeats, args.batch)
        print(format_runtimes(result))
    else:
        result = run_bench(refs, frames, detectors[runtimes[0]], args.repeats, args.batch, args.compare_exact)
        print(format_bench(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0
