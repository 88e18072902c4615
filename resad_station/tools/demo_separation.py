"""How far apart the demo line's good and defective boards score, per method.

    python -m resad_station.tools.demo_separation [--shots 4] [--size 256] [--weights FILE]

The demo profile's set-up (the first --shots of profiles/demo/reference, 256 px), every line
frame scored by every method (batched: one backbone pass and one search per frame). Prints per method the highest good score,
the lowest defective one, their gap and the image AUROC: the margin the demo's thresholds have.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine import Detector
from engine.data.mvtec import load_rgb
from engine.self_test import auroc
from resad_station.capture.imaging import image_files
from resad_station.paths import SHIPPED_PROFILES_DIR

DEMO = SHIPPED_PROFILES_DIR / "demo"


def separation(detector: Detector, shots: int) -> dict[str, dict[str, float]]:
    refs = detector.build_references([load_rgb(p) for p in image_files([DEMO / "reference"])[:shots]])
    files = image_files([DEMO / "line"])
    preds = detector.predict_methods([load_rgb(p) for p in files], refs, detector.available_methods)
    scores = {m: {"good": [], "defect": []} for m in detector.available_methods}
    for path, by_method in zip(files, preds):
        for method, pred in by_method.items():
            scores[method]["defect" if "_defect_" in path.name else "good"].append(pred.score)
    return {m: {"max_good": max(s["good"]), "min_defect": min(s["defect"]), "good": len(s["good"]),
                "defect": len(s["defect"]), "auroc": auroc(s["good"], s["defect"])} for m, s in scores.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m resad_station.tools.demo_separation",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--weights", type=Path, default=None, help="default: the bundled heads")
    args = ap.parse_args(argv)
    detector = Detector.load(args.weights, device="cpu", input_size=args.size)
    print(f"demo line, {args.shots} shots, {args.size} px, weights {detector.weights_id}")
    for method, r in separation(detector, args.shots).items():
        print(f"  {method:10s} good max {r['max_good']:6.2f} ({r['good']})  defect min {r['min_defect']:6.2f} "
              f"({r['defect']})  gap {r['min_defect'] - r['max_good']:+6.2f}  AUROC {r['auroc']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
