"""`resad-station train`: train the ResAD heads on MVTec-layout folders."""

from __future__ import annotations

import argparse
import json
import shlex
import sys

NAME = "train"
HELP = "train the ResAD heads on MVTec-layout folders"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("roots", nargs="*", metavar="ROOT", help="MVTec-layout dataset folders (train AND test splits are used)")
    parser.add_argument("--out", required=True, help="weights file to write (.safetensors; a .card.json is written beside it)")
    parser.add_argument("--extra", default="", help="extra good-image sets: textures, surfaces, elpv (comma separated)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--shots", type=int, default=4, help="references per training step")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--flow-lr", type=float, help="the flows' learning rate (default: --lr; the constraintors use --lr)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--input-size", type=int, default=256)
    parser.add_argument("--cond-dim", type=int, default=64, help="positional encoding size (paper: 256)")
    parser.add_argument("--residual-norm", choices=("none", "reference"), default="none",
                        help="divide residuals by the references' mean leave-one-out residual norm per level")
    parser.add_argument("--blocks", type=int, default=8, help="coupling blocks per flow")
    parser.add_argument("--eval-every", type=int, default=250, help="steps between held-out checks")
    parser.add_argument("--select-on", default="",
                        help="categories (comma separated, e.g. elpv_mono) kept out of training and used alone to "
                             "select the checkpoint; default: held-out test images of the training categories")
    parser.add_argument("--keep-checkpoints", action="store_true",
                        help="also write every evaluated checkpoint as OUT-stepN.safetensors")
    parser.add_argument("--heldout", type=float, default=0.25, help="fraction of test images held out for selection")
    parser.add_argument("--synthetic-per-good", type=int, default=1)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    parser.add_argument("--cache-dir", help="keep cached backbone features here (one file per dataset) for reruns")


def run(args: argparse.Namespace) -> int:
    import torch

    from engine.training.run import train_model
    from engine.training.trainer import TrainConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    extras = tuple(e for e in args.extra.split(",") if e)
    if not args.roots and not extras:
        print("train: give at least one ROOT or --extra", file=sys.stderr)
        return 2
    config = TrainConfig(
        steps=args.steps, batch=args.batch, shots=args.shots, lr=args.lr, flow_lr=args.flow_lr, seed=args.seed,
        input_size=args.input_size, cond_dim=args.cond_dim, residual_norm=args.residual_norm, n_blocks=args.blocks,
        eval_every=args.eval_every, select_on=tuple(c for c in args.select_on.split(",") if c),
    )
    try:
        card = train_model(
            args.roots, args.out, config, extras, args.synthetic_per_good, args.heldout,
            progress=True,
            cache_dir=args.cache_dir,
            keep_checkpoints=args.keep_checkpoints,
            command="resad-station train " + " ".join(shlex.quote(a) for a in sys.argv[2:]),
        )
    except ValueError as exc:  # the data cannot train this model (names what is missing); nothing was written
        print(f"train: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({k: card[k] for k in ("weights_file", "sha256", "best_step", "heldout_image_auroc_resad")}, indent=2))
    return 0
