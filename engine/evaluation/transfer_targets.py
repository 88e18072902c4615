"""What the transfer protocol trains on and evaluates, per target.

A target is a dataset folder (MVTec layout) under the data directory, or "elpv" (the solar-cell
EL images of the elpv-dataset package, image labels only). The model for a target is trained on
every OTHER dataset folder there plus the extra good-image sets; elpv joins as an extra unless it
is the target. Nothing of a target's dataset is seen in training.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.data.mvtec import category_dirs
from engine.training.sources import elpv_utils

ELPV = "elpv"
# elpv as a target: per cell type, good (defect probability 0) references and test images, and
# certainly defective (probability 1) test images, drawn with a fixed seed
ELPV_TRAIN, ELPV_TEST_GOOD, ELPV_TEST_DEFECT, ELPV_SEED = 30, 60, 60, 0


@dataclass(frozen=True)
class TargetPlan:
    target: str
    eval_roots: tuple[Path, ...]
    train_roots: tuple[Path, ...]
    extras: tuple[str, ...]


def dataset_roots(data_dir: Path) -> dict[str, Path]:
    """Folder name -> path of every MVTec-layout dataset directly under data_dir."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data directory {data_dir} not found")
    return {p.name: p for p in sorted(data_dir.iterdir()) if p.is_dir() and category_dirs(p)}


def plan(target: str, data_dir: Path, extras: tuple[str, ...], cache_dir: Path) -> TargetPlan:
    roots = dataset_roots(data_dir)
    if target != ELPV and target not in roots:
        raise KeyError(f"target {target!r}: no MVTec-layout dataset folder of that name in {data_dir}; "
                       f"found {sorted(roots)} (and {ELPV!r})")
    train_extras = tuple(e for e in extras if e != ELPV)
    if target != ELPV and ELPV in extras:
        train_extras += (ELPV,)
    eval_roots = (elpv_tree(cache_dir / "transfer-elpv"),) if target == ELPV else (roots[target],)
    train_roots = tuple(p for name, p in roots.items() if name != target)
    return TargetPlan(target, eval_roots, train_roots, train_extras)


def elpv_tree(out: Path) -> Path:
    """elpv in MVTec layout (made once): elpv_mono/ and elpv_poly/, copies of the package's files."""
    labels = Path(elpv_utils().__file__).parent / "data" / "labels.csv"
    done = out / "done.json"
    if done.is_file():
        return out
    rows = [line.split() for line in labels.read_text().splitlines() if line.strip()]
    rng = np.random.default_rng(ELPV_SEED)
    counts = {}
    for kind in ("mono", "poly"):
        good = [r[0] for r in rows if r[2] == kind and float(r[1]) == 0.0]
        bad = [r[0] for r in rows if r[2] == kind and float(r[1]) == 1.0]
        good = [good[i] for i in rng.permutation(len(good))[: ELPV_TRAIN + ELPV_TEST_GOOD]]
        bad = [bad[i] for i in rng.permutation(len(bad))[:ELPV_TEST_DEFECT]]
        parts = {"train/good": good[:ELPV_TRAIN], "test/good": good[ELPV_TRAIN:], "test/defect": bad}
        for part, files in parts.items():
            folder = out / f"elpv_{kind}" / part
            folder.mkdir(parents=True, exist_ok=True)
            for f in files:
                shutil.copyfile(labels.parent / f, folder / Path(f).name)
        counts[kind] = {part: len(files) for part, files in parts.items()}
    done.write_text(json.dumps({"source": "elpv-dataset labels.csv", "seed": ELPV_SEED, "counts": counts}))
    return out


def fingerprint(roots: tuple[Path, ...], extras: tuple[str, ...]) -> str:
    """sha256 of every image file's relative path and size under the roots, plus the extras' names:
    the data part of a trained model's cache key."""
    h = hashlib.sha256()
    for root in roots:
        h.update(root.name.encode())
        for p in sorted(root.rglob("*")):
            if p.is_file():
                h.update(f"{p.relative_to(root)}:{p.stat().st_size}".encode())
    h.update(",".join(extras).encode())
    return h.hexdigest()
