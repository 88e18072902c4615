"""Few-shot benchmark: K good references per category and seed, every test image scored.

Protocol, per category, K and seed:
- references: `np.random.default_rng(seed).permutation(n_train)[:K]` of the category's
  train/good images (sorted by file name), so K=2 shots are a subset of K=4 for the same seed,
  and every method sees the same references;
- every test image is predicted once per method (one backbone pass via `predict_all` when more
  than one method is wanted, or when the single method is not the detector's own);
- image AUROC on all test images; pixel AUROC and AUPRO@0.3 on the good test images plus the
  anomalous ones that have a non-empty ground-truth mask, after `downscale_for_metrics`
  (longer side <= 256).

JSON structure returned by `evaluate` (schema "resad-station/evaluate/v1"; every float is in
[0, 1], null where undefined, e.g. pixel metrics of a category without masks)::

    {
      "schema": "resad-station/evaluate/v1",
      "config": {"roots": [str], "categories": [str], "shots": [int], "seeds": [int],
                 "methods": [str], "input_size": int|null, "score_levels": [int], "search": str|null,
                 "frame_scale": str, "weights_id": str|null,
                 "weights": str (added by the CLI: the --weights path or "bundled"),
                 "pixel_metrics_max_side": 256,
                 "aupro_fpr_limit": 0.3, "reference_draw": str, "std": str},
      "datasets": {category: {"root": str, "n_train": int, "n_test": int,
                              "n_anomalous": int, "n_pixel_labelled": int}},
      "references": {category: {"K=4": {"<seed>": [file names]}}},
      "auto_choices": {category: {"K=4": {"<seed>": method}}} (with method "auto"),
      "auto_tests": {category: {"K=4": {"<seed>": {method: {name: float|null}}}}}, name in
                    self_test.CHOICE_ORDER: the numbers each choice was made on,
      "align_choices": {category: {"K=4": {"<seed>": "none"|"part"}}} (under align "auto"),
      "search_choices": {category: {"K=4": {"<seed>": {"search": "guided"|"wide", "excess": float}}}}
                        (under search "auto": engine/search_choice.py),
      "results": {method: {"K=4": {
          "per_category": {category: {
              "image_auroc": {"mean": float, "std": float, "per_seed": [float|null]},
              "pixel_auroc": {...} | null, "aupro": {...} | null,
              "ms_per_image": float | null}},
          "mean": {"image_auroc": {...}|null, "pixel_auroc": {...}|null, "aupro": {...}|null},
          "skipped": {category: reason}}}},
      "elapsed_s": float
    }

The mean over categories is taken per seed, then its mean and std over seeds are reported.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from tqdm.auto import tqdm

from engine import self_test
from engine.detector import AUTO, METHOD_CHOICES
from engine.errors import EngineError
from engine.data.mvtec import Sample, category_dirs, index_root, load_mask, load_rgb
from engine.evaluation.metrics import (AUPRO_FPR_LIMIT, DEFAULT_MAX_SIDE, aupro, downscale_for_metrics,
                                       image_auroc, pixel_auroc)
from engine.evaluation.cached_features import CachedFrames, method_keys, run_seed_cached
from engine.evaluation.summary import METRICS, build_k_entry, finite_or_none
from engine.preprocess import FRAME_SCALE

log = logging.getLogger(__name__)

SCHEMA = "resad-station/evaluate/v1"
DEFAULT_METHODS = ("resad", "knn")


@dataclass
class _Category:
    key: str
    root: Path
    train: list[Sample]
    test: list[Sample]
    small_masks: dict[int, np.ndarray] = field(default_factory=dict)  # test index -> downscaled mask
    unlabelled: set[int] = field(default_factory=set)  # anomalous test images without pixel label

    def pixel_usable(self, i: int) -> bool:
        return i not in self.unlabelled


def _collect_categories(roots: Sequence[Path], wanted: Iterable[str] | None) -> list[_Category]:
    dirs = [(root, d) for root in roots for d in category_dirs(root)]
    names = [d.name for _, d in dirs]
    wanted_set = set(wanted) if wanted is not None else None
    if wanted_set is not None:
        unknown = wanted_set - set(names) - {f"{r.name}/{d.name}" for r, d in dirs}
        if unknown:
            raise KeyError(f"no category {sorted(unknown)} under {[str(r) for r in roots]}; found {sorted(names)}")
    out = []
    for root, d in dirs:
        # The same category name under two roots gets the root's name as a prefix.
        key = d.name if names.count(d.name) == 1 else f"{root.name}/{d.name}"
        if wanted_set is not None and d.name not in wanted_set and key not in wanted_set:
            continue
        samples = index_root(d)
        train = [s for s in samples if s.split == "train"]
        test = [s for s in samples if s.split == "test"]
        if not test:
            log.warning("%s: no test images; category skipped", d)
            continue
        out.append(_Category(key, root, train, test))
    if not out:
        raise ValueError(f"no category with test images under {[str(r) for r in roots]}")
    return out


def subsample_test(test: list[Sample], n: int) -> list[Sample]:
    """At most n test images, the good/anomalous ratio kept, drawn with default_rng(0), in file order."""
    if len(test) <= n:
        return test
    bad = [i for i, s in enumerate(test) if s.is_anomalous]
    good = [i for i, s in enumerate(test) if not s.is_anomalous]
    n_bad = min(len(bad), max(1 if bad else 0, round(n * len(bad) / len(test))))
    n_good = min(len(good), n - n_bad)
    rng = np.random.default_rng(0)
    keep = [bad[i] for i in rng.permutation(len(bad))[:n_bad]] + [good[i] for i in rng.permutation(len(good))[:n_good]]
    return [test[i] for i in sorted(keep)]


def _resolve_detector(detector: Any) -> Any:
    if hasattr(detector, "predict") and hasattr(detector, "build_references"):
        return detector
    if callable(detector):
        return detector()
    raise TypeError(f"evaluate: expected a Detector or a factory returning one, got {type(detector).__name__}")


def _predict(det: Any, images: list[np.ndarray], refs: Any, methods: Sequence[str]) -> dict[str, list]:
    """method -> predictions of `images`; one backbone pass per image for several methods."""
    own = getattr(det, "method", None)
    if len(methods) == 1 and methods[0] == own:
        return {own: list(det.predict_batch(images, refs))}
    if hasattr(det, "predict_methods"):  # only the methods asked for, batched
        outs = det.predict_methods(images, refs, methods)
        return {m: [o[m] for o in outs] for m in methods}
    outs = [det.predict_all(image, refs) for image in images]
    missing = [m for m in methods if outs and m not in outs[0]]
    if missing:
        raise EngineError(f"the detector cannot run method(s) {missing} (trained weights loaded?); "
                          f"it offers {sorted(outs[0])}")
    return {m: [o[m] for o in outs] for m in methods}


def _small_mask(cat: _Category, i: int, shape: tuple[int, int], max_side: int) -> np.ndarray | None:
    """The downscaled ground truth of test image i (cached), or None without a pixel label."""
    if i in cat.small_masks:
        return cat.small_masks[i]
    sample = cat.test[i]
    if sample.is_anomalous and sample.mask_path is None:
        cat.unlabelled.add(i)
        return None
    mask = load_mask(sample.mask_path, shape)
    if sample.is_anomalous and not mask.any():
        cat.unlabelled.add(i)  # an empty mask is "no pixel annotation"; reported once at the end
        return None
    _, small = downscale_for_metrics(np.zeros(shape, np.float32), mask, max_side)
    cat.small_masks[i] = small
    return small


def _run_seed(det: Any, cat: _Category, refs: Any, methods: Sequence[str], batch_size: int,
              max_side: int, bar: tqdm) -> dict[str, dict[str, float]]:
    """Score every test image of `cat` with `refs`; method -> metric -> value (plus ms_per_image)."""
    scores = {m: [] for m in methods}
    maps = {m: [] for m in methods}
    ms = {m: [] for m in methods}
    masks: list[np.ndarray] = []
    for start in range(0, len(cat.test), batch_size):
        idx = range(start, min(start + batch_size, len(cat.test)))
        images = [load_rgb(cat.test[i].path) for i in idx]
        preds = _predict(det, images, refs, methods)
        for j, i in enumerate(idx):
            shape = images[j].shape[:2]
            mask = _small_mask(cat, i, shape, max_side)
            if mask is not None:
                masks.append(mask)
            for m in methods:
                p = preds[m][j]
                if p.anomaly_map.shape != shape:
                    raise ValueError(
                        f"{m}: anomaly map {p.anomaly_map.shape} for {cat.test[i].path} of size {shape}")
                scores[m].append(float(p.score))
                ms[m].append(p.timings.get("total", float("nan")))
                if mask is not None:
                    maps[m].append(downscale_for_metrics(p.anomaly_map, np.zeros(shape, bool), max_side)[0])
        bar.update(len(idx))
    labels = [s.is_anomalous for s in cat.test]
    out = {}
    for m in methods:
        out[m] = {
            "image_auroc": image_auroc(labels, scores[m]),
            "pixel_auroc": pixel_auroc(masks, maps[m]),
            "aupro": aupro(masks, maps[m]),
            "ms": float(np.nanmean(ms[m])) if np.isfinite(ms[m]).any() else float("nan"),
        }
    return out


def _concrete(det: Any, methods: Sequence[str], shot_images, refs, choices: dict, tests: dict, kk: str,
              seed: int) -> list[str]:
    """The methods to score: those asked for, with "auto" replaced by the method the self-test
    chooses from these references alone (engine/self_test.py, as enrollment does); noted in choices,
    and each method's self-test numbers (what the choice was made on) in tests."""
    concrete = [m for m in methods if m != AUTO]
    if AUTO in methods:
        test = self_test.run(det, shot_images, refs, auto=True)
        choices.setdefault(kk, {})[str(seed)] = test.method
        tests.setdefault(kk, {})[str(seed)] = {
            m: {name: finite_or_none(getattr(r, name)) for name in self_test.CHOICE_ORDER} for m, r in test.reports.items()}
        concrete = list(dict.fromkeys(concrete + [test.method]))
    return concrete


def reference_indices(n_train: int, k: int, seed: int) -> list[int]:
    """The train/good indices used as K references for a seed (nested over K)."""
    return sorted(int(i) for i in np.random.default_rng(seed).permutation(n_train)[:k])


def evaluate(detector: Any | Callable[[], Any], roots: str | Path | Sequence[str | Path],
             categories: Iterable[str] | None = None, shots: Sequence[int] = (4,),
             seeds: Sequence[int] = (0, 1, 2), methods: Sequence[str] = DEFAULT_METHODS, progress: bool = True,
             batch_size: int = 8, max_side: int = DEFAULT_MAX_SIDE, cache_features: bool = False,
             score_rules: Sequence[str] | None = None, max_test: int | None = None) -> dict:
    """Run the few-shot benchmark; returns the JSON-ready dict described in the module docstring.

    cache_features: compute each test image's backbone features once for all K and seeds
    (engine/evaluation/cached_features.py; same numbers, a fraction of the time). score_rules
    (needs cache_features): image-score rules read off the same maps, the first being the
    detector's; each other one adds results under "METHOD@RULE". max_test: at most this many test
    images per category (`subsample_test`; None: all)."""
    t0 = time.perf_counter()
    roots = [Path(roots)] if isinstance(roots, (str, Path)) else [Path(r) for r in roots]
    methods = list(dict.fromkeys(methods))
    bad = [m for m in methods if m not in METHOD_CHOICES]
    if bad or not methods:
        raise ValueError(f"methods {methods}: expected some of {METHOD_CHOICES}")
    shots, seeds = [int(k) for k in shots], [int(s) for s in seeds]
    if not shots or min(shots) < 1 or not seeds:
        raise ValueError(f"shots {shots} and seeds {seeds}: need at least one of each, shots >= 1")
    cats = _collect_categories(roots, categories)
    if max_test is not None:
        for c in cats:
            c.test = subsample_test(c.test, int(max_test))
    det = _resolve_detector(detector)
    rules = list(score_rules or [getattr(det, "image_score", "max")])
    if not cache_features and len(rules) > 1:
        raise ValueError("several score rules need cache_features=True")
    keys = method_keys(methods, rules) if cache_features else methods

    raw = {m: {f"K={k}": {} for k in shots} for m in keys}  # method -> K -> cat -> metric -> [seed]
    extras = {m: {f"K={k}": {} for k in shots} for m in keys}
    skipped: dict[str, dict[str, str]] = {f"K={k}": {} for k in shots}
    references: dict[str, dict] = {c.key: {} for c in cats}
    auto_choices: dict[str, dict] = {c.key: {} for c in cats}  # "auto": the method chosen per category, K and seed
    align_choices: dict[str, dict] = {c.key: {} for c in cats}  # how each draw's frames were turned (align "auto")
    search_choices: dict[str, dict] = {c.key: {} for c in cats}  # each draw's search and its signal (search "auto")
    auto_tests: dict[str, dict] = {c.key: {} for c in cats}  # each draw's self-test numbers per method
    runnable = [(c, k) for c in cats for k in shots if k <= len(c.train)]
    for cat in cats:  # said before the progress bar starts, so it is not drawn over
        for k in shots:
            if k > len(cat.train):
                skipped[f"K={k}"][cat.key] = f"only {len(cat.train)} train/good images for K={k}"
                log.warning("%s: %s", cat.key, skipped[f"K={k}"][cat.key])
    total = sum(len(c.test) for c, _ in runnable) * len(seeds)
    if cache_features:
        total += sum(len(c.test) for c in cats if any(k <= len(c.train) for k in shots))
    with tqdm(total=total, unit="img", desc="evaluate", disable=not progress, dynamic_ncols=True) as bar:
        for cat in cats:
            frames, counted = None, False  # the test features at the scale of the last shots (one scale kept)
            for k in shots:
                kk = f"K={k}"
                if cat.key in skipped[kk]:
                    continue
                per_seed = {m: {name: [] for name in (*METRICS, "ms")} for m in keys}
                references[cat.key][kk] = {}
                for seed in seeds:
                    bar.set_postfix_str(f"{cat.key} K={k} seed={seed}")
                    idx = reference_indices(len(cat.train), k, seed)
                    references[cat.key][kk][str(seed)] = [cat.train[i].path.name for i in idx]
                    shot_images = [load_rgb(cat.train[i].path) for i in idx]
                    refs = det.build_references(shot_images)
                    concrete = _concrete(det, methods, shot_images, refs, auto_choices[cat.key], auto_tests[cat.key],
                                          kk, seed)
                    align = det.align_for(refs) if hasattr(det, "align_for") else None
                    if align is not None:
                        align_choices[cat.key].setdefault(kk, {})[str(seed)] = align
                    if getattr(det, "search", None) == "auto":
                        search_choices[cat.key].setdefault(kk, {})[str(seed)] = {
                            "search": det.search_for(refs), "excess": refs.search_excess}
                    if cache_features and (frames is None or (frames.short_side, frames.align) != (refs.short_side, align)):
                        bar.set_postfix_str(f"{cat.key} features")
                        frames = CachedFrames(det, [s.path for s in cat.test], None if counted else bar.update,
                                              refs.short_side, align)
                        counted = True  # the bar counts one feature pass per category
                    if frames is not None:
                        values = run_seed_cached(det, frames, [s.is_anomalous for s in cat.test],
                                                 lambda i, shape, c=cat: _small_mask(c, i, shape, max_side),
                                                 refs, concrete, rules, max_side, bar.update)
                    else:
                        values = _run_seed(det, cat, refs, concrete, batch_size, max_side, bar)
                    if AUTO in methods:  # "auto" is the method chosen for these references, under every score rule
                        chosen = auto_choices[cat.key][kk][str(seed)]
                        for key, source in zip(method_keys([AUTO], rules), method_keys([chosen], rules)):
                            values[key] = values[source]
                    for m in keys:
                        for name, v in values[m].items():
                            per_seed[m][name].append(v)
                for m in keys:
                    raw[m][kk][cat.key] = {name: per_seed[m][name] for name in METRICS}
                    ms = [v for v in per_seed[m]["ms"] if np.isfinite(v)]
                    extras[m][kk][cat.key] = {"ms_per_image": float(np.mean(ms)) if ms else None}
    for c in cats:
        if c.unlabelled:
            names = [c.test[i].path.name for i in sorted(c.unlabelled)]
            log.warning("%s: %d anomalous test image(s) without a pixel label (no or empty mask), "
                        "skipped for pixel metrics: %s", c.key, len(names), ", ".join(names[:5]))

    results = {
        m: {kk: build_k_entry(raw[m][kk], len(seeds), skipped[kk], extras[m][kk]) for kk in raw[m]}
        for m in keys
    }
    return {
        "schema": SCHEMA,
        "config": {
            "roots": [str(r) for r in roots],
            "categories": [c.key for c in cats],
            "shots": shots,
            "seeds": seeds,
            "methods": methods,
            "score_rules": rules,
            "max_test_per_category": max_test,
            "cache_features": bool(cache_features),
            "image_score": getattr(det, "image_score", None),
            "local_features": getattr(det, "local_features", None),
            "augment": getattr(det, "augment", None),
            "align": getattr(det, "align", None),
            "input_size": getattr(det, "input_size", None),
            "score_levels": list(getattr(det, "score_levels", None) or (1, 2, 3)),
            "search": getattr(det, "search", None),
            "frame_scale": FRAME_SCALE,
            "weights_id": getattr(det, "weights_id", None),
            "pixel_metrics_max_side": max_side,
            "aupro_fpr_limit": AUPRO_FPR_LIMIT,
            "reference_draw": "sorted(np.random.default_rng(seed).permutation(n_train)[:K])",
            "std": "sample standard deviation over seeds (ddof=1); 0 for one seed",
        },
        "datasets": {
            c.key: {
                "root": str(c.root),
                "n_train": len(c.train),
                "n_test": len(c.test),
                "n_anomalous": sum(s.is_anomalous for s in c.test),
                "n_pixel_labelled": sum(s.is_anomalous and s.mask_path is not None and i not in c.unlabelled
                                        for i, s in enumerate(c.test)),
            }
            for c in cats
        },
        "references": references,
        "auto_choices": auto_choices if AUTO in methods else {},
        "auto_tests": auto_tests if AUTO in methods else {},
        "align_choices": align_choices if getattr(det, "align", None) == "auto" else {},
        "search_choices": search_choices if getattr(det, "search", None) == "auto" else {},
        "results": results,
        "elapsed_s": time.perf_counter() - t0,
    }
