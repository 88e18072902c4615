"""The blind transfer protocol: per target, a model trained on everything else, evaluated few-shot.

For each target (a dataset folder, or "elpv"; engine/evaluation/transfer_targets.py) the ResAD
heads are trained on every other dataset plus the extra good-image sets, then the target is
evaluated with the few-shot runner (K references drawn per seed, every method, on cached frame
features). Trained models are cached under a key of the training data (every file's path and
size) and the training settings, so a rerun, or a rerun with other inference settings, only
evaluates. The summary is the mean over targets: per seed, the mean of the targets' category
means, then mean and std over seeds (a target without a metric, e.g. elpv's pixel AUROC, is left
out of that metric's mean).

JSON (schema "resad-station/transfer/v1")::

    {"schema", "config": {...}, "targets": {target: {"model": {"file", "key", "trained_now",
     "train_roots", "extras", "best_step"}, "evaluation": <evaluate/v1 result>}},
     "summary": {method: {"K=4": {"per_target": {target: {metric: {mean, std, per_seed}|null}},
                                  "mean": {metric: {mean, std, per_seed}|null}}}},
     "elapsed_s"}
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from engine import search_choice, self_test, thresholds
from engine.data.mvtec import category_dirs
from engine.detector import Detector, METHOD_CHOICES
from engine.evaluation.runner import evaluate
from engine.evaluation.summary import METRICS, summarize
from engine.evaluation.transfer_targets import TargetPlan, fingerprint, plan
from engine.preprocess import FRAME_SCALE, PREPROCESS_ID
from engine.training.trainer import TrainConfig
from engine.version import ENGINE_VERSION
from engine.weights import load_heads

SCHEMA = "resad-station/transfer/v1"
DEFAULT_TARGETS = ("magnetic_tile", "mvtec_screw", "piped", "deeppcb", "elpv")
DEFAULT_EXTRAS = ("textures", "surfaces", "elpv")


@dataclass(frozen=True)
class InferenceSettings:
    """How the target is evaluated (no retraining needed to change any of these)."""

    shots: tuple[int, ...] = (2, 4, 8)
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = METHOD_CHOICES  # the shipped methods and "auto"
    input_size: int = 256
    search: str = "guided"
    score_rules: tuple[str, ...] = ("max",)
    local_features: bool = False
    augment: str = "none"
    align: str = "none"
    levels: tuple[int, ...] | None = None
    # at most this many test images per target (split evenly over its categories, the good/anomalous
    # ratio kept; None: all): a cheaper, noisier run of the same protocol
    max_test: int | None = None


@dataclass(frozen=True)
class ProtocolSettings:
    train: TrainConfig = field(default_factory=TrainConfig)
    extras: tuple[str, ...] = DEFAULT_EXTRAS
    inference: InferenceSettings = field(default_factory=InferenceSettings)


def model_key(p: TargetPlan, train: TrainConfig, data_fingerprint: str | None = None) -> str:
    """What a trained model depends on: its training data, settings, the engine and preprocessing."""
    blob = json.dumps({"data": data_fingerprint or fingerprint(p.train_roots, p.extras), "train": asdict(train),
                       "engine": ENGINE_VERSION, "preprocess": PREPROCESS_ID}, sort_keys=True, default=list)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def ensure_model(p: TargetPlan, train: TrainConfig, cache_dir: Path, progress: bool) -> dict:
    """The cached model for this target and settings, trained first when missing."""
    from engine.training.run import train_model

    key = model_key(p, train)
    path = cache_dir / "transfer-models" / f"{p.target}-{key}.safetensors"
    trained_now = not path.is_file()
    if trained_now:
        if not p.train_roots and not p.extras:
            raise ValueError(f"target {p.target!r}: nothing else to train on")
        train_model([str(r) for r in p.train_roots], path, train, p.extras, progress=progress,
                    cache_dir=cache_dir / "features",
                    command=f"resad-station benchmark transfer (target {p.target}, key {key})")
    _, card = load_heads(path)
    return {"file": str(path), "key": key, "trained_now": trained_now, "train_roots": [r.name for r in p.train_roots],
            "extras": list(p.extras), "best_step": card.get("best_step")}


def detector_for(model_file: str | None, inf: InferenceSettings, device: str = "cpu") -> Detector:
    return Detector.load(model_file, device=device, input_size=inf.input_size, method=inf.methods[0],
                         search=inf.search, score_levels=inf.levels, image_score=inf.score_rules[0],
                         local_features=inf.local_features, augment=inf.augment, align=inf.align)


def results_path(p: TargetPlan, model: dict, inf: InferenceSettings, cache_dir: Path) -> Path:
    """Where a target's evaluation is kept: keyed by everything its numbers follow from, the rules
    that choose "auto"'s method and search and place thresholds included, so a changed rule is not read stale
    (the search rule only under search "auto", so the keys of fixed searches stay those of earlier runs)."""
    rules = {"choice": self_test.CHOICE_ORDER, "thresholds": thresholds.rule_text(),
             **({"search": search_choice.rule_text()} if inf.search == search_choice.SEARCH_AUTO else {})}
    blob = json.dumps({"model": model["key"], "inference": asdict(inf), "data": fingerprint(p.eval_roots, ()),
                       "frame_scale": FRAME_SCALE, **rules}, sort_keys=True, default=list)
    return cache_dir / "transfer-results" / f"{p.target}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}.json"


def _cached_evaluation(p: TargetPlan, model: dict, inf: InferenceSettings, cache_dir: Path, device: str,
                       progress: bool) -> dict:
    """The target's evaluation, kept under a key of model, inference settings and target data, so
    that an interrupted protocol resumes at the next target and a rerun only tabulates."""
    path = results_path(p, model, inf, cache_dir)
    if path.is_file():
        return json.loads(path.read_text())
    det = detector_for(model["file"], inf, device)
    per_category = None
    if inf.max_test is not None:
        n_cats = sum(len(category_dirs(r)) for r in p.eval_roots)
        per_category = max(2, math.ceil(inf.max_test / max(1, n_cats)))
    result = evaluate(det, list(p.eval_roots), shots=inf.shots, seeds=inf.seeds, methods=inf.methods,
                      progress=progress, cache_features=True, score_rules=inf.score_rules, max_test=per_category)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, allow_nan=False))
    tmp.replace(path)
    return result


def _summary(targets: dict, n_seeds: int) -> dict:
    out: dict = {}
    first = next(iter(targets.values()))["evaluation"]["results"]
    for method, per_k in first.items():
        out[method] = {}
        for kk in per_k:
            per_target = {t: targets[t]["evaluation"]["results"][method][kk]["mean"] for t in targets}
            mean = {}
            for metric in METRICS:
                rows = [v[metric]["per_seed"] for v in per_target.values() if v.get(metric)]
                per_seed = []
                for s in range(n_seeds):
                    vals = [r[s] for r in rows if r[s] is not None]
                    per_seed.append(sum(vals) / len(vals) if vals else None)
                mean[metric] = summarize(per_seed) if rows else None
            out[method][kk] = {"per_target": per_target, "mean": mean}
    return out


def run_protocol(data_dir: Path, cache_dir: Path, settings: ProtocolSettings,
                 targets: Sequence[str] = DEFAULT_TARGETS, progress: bool = True, device: str = "cpu") -> dict:
    t0 = time.perf_counter()
    data_dir, cache_dir = Path(data_dir), Path(cache_dir)
    inf = settings.inference
    plans = [plan(t, data_dir, settings.extras, cache_dir) for t in targets]  # bad names fail before any work
    out: dict = {}
    with tqdm(total=2 * len(plans), desc="transfer", unit="stage", disable=not progress, position=0) as bar:
        for p in plans:
            bar.set_postfix_str(f"{p.target}: model")
            model = ensure_model(p, settings.train, cache_dir, progress)
            bar.update(1)
            bar.set_postfix_str(f"{p.target}: evaluate")
            result = _cached_evaluation(p, model, inf, cache_dir, device, progress)
            out[p.target] = {"model": model, "evaluation": result}
            bar.update(1)
    return {
        "schema": SCHEMA,
        "config": {"data_dir": str(data_dir), "targets": list(targets), "extras": list(settings.extras),
                   "train": asdict(settings.train), "inference": asdict(inf), "device": device},
        "targets": out,
        "summary": _summary(out, len(inf.seeds)),
        "elapsed_s": time.perf_counter() - t0,
    }


def format_summary(result: dict) -> str:
    """One table: per method and K, each target's image / pixel AUROC and the mean over targets."""
    targets = result["config"]["targets"]
    head = ["method", "K"] + [t for t in targets] + ["MEAN"]
    rows = [head]

    def cell(v):
        im, px = v.get("image_auroc"), v.get("pixel_auroc")
        return (f"{im['mean']:.3f}" if im else "-") + " / " + (f"{px['mean']:.3f}" if px else "-")

    for method, per_k in result["summary"].items():
        for kk, entry in per_k.items():
            rows.append([method, kk[2:]] + [cell(entry["per_target"][t]) for t in targets] + [cell(entry["mean"])])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["image AUROC / pixel AUROC, mean over reference seeds " + ",".join(map(str, result["config"]["inference"]["seeds"]))]
    for j, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
