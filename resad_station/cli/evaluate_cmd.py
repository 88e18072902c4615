"""`resad-station evaluate`: evaluate ResAD and the kNN baseline on MVTec-layout data.

Example::

    resad-station evaluate data/magnetic_tile data/deeppcb --shots 2,4,8 --seeds 0,1,2 \\
        --method both --json runs/eval.json

Prints one table per method and K (mean±std over seeds) and writes the JSON documented in
engine.evaluation.runner.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from resad_station.profiles.model import ALIGN_NAMES, DEFAULT_ALIGN, AUGMENT_NAMES, DEFAULT_INPUT_SIZE, METHOD_NAMES, DEFAULT_SEARCH, SEARCH_NAMES

NAME = "evaluate"
HELP = "evaluate ResAD and the kNN baseline on MVTec-layout data"


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 2,4,8, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one integer, got {text!r}")
    return values


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("roots", nargs="+", metavar="ROOT",
                        help="MVTec-layout folder: <ROOT>/<category>/train/good, test/<label>, ground_truth/")
    parser.add_argument("--categories", nargs="+", metavar="NAME", help="only these categories (default: all)")
    parser.add_argument("--shots", type=_int_list, default=[4], metavar="K[,K...]",
                        help="numbers of good reference images (default: 4)")
    parser.add_argument("--seeds", type=_int_list, default=[0, 1, 2], metavar="S[,S...]",
                        help="seeds drawing the references (default: 0,1,2)")
    parser.add_argument("--method", choices=(*METHOD_NAMES, "both", "all"), default="both",
                        help="scoring method; both = resad and knn, all = every method, from one backbone pass "
                             "(default: both)")
    parser.add_argument("--weights", metavar="PATH", help="ResAD head weights (default: the bundled model)")
    parser.add_argument("--input-size", type=int, default=DEFAULT_INPUT_SIZE,
                        help=f"short side fed to the backbone (default: {DEFAULT_INPUT_SIZE}, a profile's)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    parser.add_argument("--levels", type=_int_list, default=None, metavar="L[,L...]",
                        help="backbone levels the score sums (default: 1,2,3, as in the paper)")
    parser.add_argument("--search", choices=SEARCH_NAMES, default=DEFAULT_SEARCH,
                        help="levels searched over every position: guided = 3, broad = 3 with its best 3 matches guiding level 2, wide = 2-3, exact = all; auto = guided or wide, chosen per reference set from its shots (default: %(default)s)")
    parser.add_argument("--score", default="max", metavar="RULE",
                        help="image score: max (the map's maximum) or topP, the mean of its top P %% (e.g. top1)")
    parser.add_argument("--local-features", action="store_true", help="3x3 neighbourhood average before matching")
    parser.add_argument("--augment", choices=AUGMENT_NAMES, default="none",
                        help="augmented views of the reference shots join the pools")
    parser.add_argument("--align", choices=ALIGN_NAMES, default=DEFAULT_ALIGN,
                        help="part: shots and frames turned so that their one part lies one way (engine/part_align.py)")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON to this file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from engine import Detector, EngineError, WeightsError
    from engine.evaluation.runner import evaluate
    from engine.evaluation.summary import format_table

    methods = {"both": ("resad", "knn"), "all": METHOD_NAMES}.get(args.method, (args.method,))
    missing = [r for r in args.roots if not Path(r).is_dir()]
    if missing:
        print(f"evaluate: dataset root(s) not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        detector = Detector.load(weights=args.weights, device=args.device, input_size=args.input_size,
                                 method=methods[0], score_levels=args.levels, search=args.search,
                                 image_score=args.score, local_features=args.local_features, augment=args.augment,
                                 align=args.align)
        result = evaluate(detector, args.roots, categories=args.categories, shots=args.shots,
                          seeds=args.seeds, methods=methods, progress=not args.no_progress)
    except (EngineError, KeyError, ValueError, FileNotFoundError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        hint = " (method knn needs no weights: --method knn)" if isinstance(exc, WeightsError) else ""
        print(f"evaluate: {message}{hint}", file=sys.stderr)
        return 2
    result["config"]["weights"] = args.weights or "bundled"
    print(format_table(result), end="")
    print(f"{result['elapsed_s']:.1f} s")
    if args.json:
        write_json(Path(args.json), result)
    return 0


def write_json(out: Path, result: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, allow_nan=False, default=list) + "\n", encoding="utf-8")
    tmp.replace(out)  # atomic: a reader never sees half a file
    print(f"wrote {out}")
