"""`resad-station benchmark transfer`: the blind transfer protocol (engine/evaluation/transfer.py).

Example::

    resad-station benchmark transfer --data DATA --shots 2,4,8 --seeds 0,1,2 --json runs/transfer.json

For each target (a dataset folder under DATA, or elpv) a model is trained on everything else and
cached under a key of data + settings; a rerun only evaluates. Prints one table (each target's
image / pixel AUROC and the mean over targets, per method and K) and writes the JSON.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from resad_station.cli.evaluate_cmd import _int_list, write_json
# every method a profile accepts, "auto" included (per category, K and seed the method the
# self-test chooses from the references alone, as enrollment does); "all" = every one of them
from resad_station.profiles.model import ALIGN_NAMES, DEFAULT_ALIGN, AUGMENT_NAMES, DEFAULT_INPUT_SIZE, METHOD_NAMES, DEFAULT_SEARCH, SEARCH_NAMES

NAME = "benchmark"
HELP = "run a benchmark protocol (transfer: train on everything else, evaluate each unseen target few-shot)"
# the engine's defaults (engine/evaluation/transfer.py), repeated so that --help imports no torch
DEFAULT_TARGETS = ("magnetic_tile", "mvtec_screw", "piped", "deeppcb", "elpv")
DEFAULT_EXTRAS = ("textures", "surfaces", "elpv")


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("protocol", choices=("transfer",), help="the protocol to run")
    parser.add_argument("--data", required=True, metavar="DIR", help="folder holding the MVTec-layout dataset folders")
    parser.add_argument("--targets", type=_names, default=DEFAULT_TARGETS, metavar="T[,T...]",
                        help=f"targets: dataset folder names under --data, or elpv (default: {','.join(DEFAULT_TARGETS)})")
    parser.add_argument("--extra", type=_names, default=DEFAULT_EXTRAS, metavar="E[,E...]",
                        help="extra good-image training sets (textures, surfaces, elpv; elpv is left out when it is "
                             f"the target; default {','.join(DEFAULT_EXTRAS)}; '' for none)")
    parser.add_argument("--shots", type=_int_list, default=[2, 4, 8], metavar="K[,K...]")
    parser.add_argument("--seeds", type=_int_list, default=[0, 1, 2], metavar="S[,S...]", help="reference draws")
    parser.add_argument("--method", choices=(*METHOD_NAMES, "all"), default="all")
    train = parser.add_argument_group("training (part of the model cache key)")
    train.add_argument("--steps", type=int, default=400)
    train.add_argument("--lr", type=float, default=1e-5)
    train.add_argument("--train-seed", type=int, default=0)
    train.add_argument("--eval-every", type=int, default=200, help="steps between held-out checks")
    train.add_argument("--batch", type=int, default=8)
    train.add_argument("--cond-dim", type=int, default=64)
    inf = parser.add_argument_group("inference (no retraining)")
    inf.add_argument("--input-size", type=int, default=DEFAULT_INPUT_SIZE, help="default: a profile's")
    inf.add_argument("--search", choices=SEARCH_NAMES, default=DEFAULT_SEARCH)
    inf.add_argument("--score", type=_names, default=("max",), metavar="RULE[,RULE...]",
                     help="image score rules: max, or topP (mean of the top P %% of the map); the first is the "
                          "detector's, others are reported as METHOD@RULE from the same maps (default: max)")
    inf.add_argument("--local-features", action="store_true", help="3x3 neighbourhood average before matching")
    inf.add_argument("--augment", choices=AUGMENT_NAMES, default="none",
                     help="augmented views of the reference shots")
    inf.add_argument("--align", choices=ALIGN_NAMES, default=DEFAULT_ALIGN,
                     help="part: shots and frames turned so that their one part lies one way")
    inf.add_argument("--max-test", type=int, metavar="N",
                     help="at most N test images per target (split over its categories, good/anomalous ratio kept): "
                          "a cheaper, noisier run (default: all)")
    inf.add_argument("--levels", type=_int_list, default=None, metavar="L[,L...]")
    parser.add_argument("--cache-dir", default=".cache", help="trained models, training features, elpv copy (default .cache)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    parser.add_argument("--json", metavar="OUT", help="write the full result as JSON")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    import torch

    from engine import EngineError
    from engine.evaluation.transfer import InferenceSettings, ProtocolSettings, format_summary, run_protocol
    from engine.training.trainer import TrainConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    methods = tuple(METHOD_NAMES) if args.method == "all" else (args.method,)
    settings = ProtocolSettings(
        train=TrainConfig(steps=args.steps, lr=args.lr, seed=args.train_seed, eval_every=args.eval_every,
                          batch=args.batch, cond_dim=args.cond_dim),
        extras=args.extra,
        inference=InferenceSettings(shots=tuple(args.shots), seeds=tuple(args.seeds), methods=tuple(methods),
                                    input_size=args.input_size, search=args.search, score_rules=args.score,
                                    local_features=args.local_features, augment=args.augment, align=args.align,
                                    levels=tuple(args.levels) if args.levels else None, max_test=args.max_test),
    )
    try:
        result = run_protocol(Path(args.data), Path(args.cache_dir), settings, args.targets,
                              progress=not args.no_progress)
    except (EngineError, KeyError, ValueError, FileNotFoundError) as exc:
        print(f"benchmark transfer: {exc.args[0] if isinstance(exc, KeyError) and exc.args else exc}", file=sys.stderr)
        return 2
    print(format_summary(result), end="")
    print(f"{result['elapsed_s']:.1f} s")
    if args.json:
        write_json(Path(args.json), result)
    return 0
