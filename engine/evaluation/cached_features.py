"""Evaluation on cached frame features: the backbone runs once per test image, not once per draw.

The backbone is frozen and sees only the frame, so a category's test features are the same for
every K and seed whose shots share one median short side (engine/preprocess.py: the frames take
the shots' scale) and one alignment (under align "auto" each draw's shots decide); only the
search and the heads depend on the rest of the references. Where
the shots' sizes vary (magnetic_tile's crops) the features are computed again for each new
scale. Scores and maps are the detector's own (`maps_from_features` is the path `predict` takes
after the backbone), so the metrics equal those of the uncached runner. Several image-score rules
(engine/image_score.py) are read off the same maps: the first is the detector's, each other one
is reported as "METHOD@RULE".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Sequence

import numpy as np
import torch

from engine.data.mvtec import load_rgb
from engine.evaluation.metrics import aupro, downscale_for_metrics, image_auroc, pixel_auroc
from engine.image_score import check_rule, image_score
from engine.part_align import to_frame
from engine.scoring import to_original

BATCH = 8


class CachedFrames:
    """A category's test images as features (per image, per level (C, H_l, W_l)) and shapes."""

    def __init__(self, det: Any, paths: Sequence, on_image: Callable[[int], None] | None = None,
                 short_side: int | None = None, align: str | None = None):
        # the reference sets' scale (ReferenceSet.short_side) and turn (Detector.align_for) these features fit
        self.short_side, self.align = short_side, align
        self.feats: list[list[torch.Tensor]] = []
        self.shapes: list[tuple[int, int]] = []
        self.poses: list = []  # engine.part_align.PartPose per image (None: not turned)
        for start in range(0, len(paths), BATCH):
            images = [load_rgb(p) for p in paths[start : start + BATCH]]
            self.feats += det.frame_features(images, self.poses, short_side, align)
            self.shapes += [im.shape[:2] for im in images]
            if on_image:
                on_image(len(images))

    def groups(self) -> list[list[int]]:
        """Indices of images with feature maps of one size, in batches."""
        by_shape: dict[tuple, list[int]] = defaultdict(list)
        for i, f in enumerate(self.feats):
            by_shape[tuple(f[0].shape)].append(i)
        return [g[s : s + BATCH] for g in by_shape.values() for s in range(0, len(g), BATCH)]


def method_keys(methods: Sequence[str], rules: Sequence[str]) -> list[str]:
    return [m if j == 0 else f"{m}@{r}" for m in methods for j, r in enumerate(rules)]


def run_seed_cached(det: Any, frames: CachedFrames, labels: Sequence[bool], small_mask: Callable,
                    refs: Any, methods: Sequence[str], rules: Sequence[str], max_side: int,
                    on_image: Callable[[int], None]) -> dict[str, dict[str, float]]:
    """Like the runner's per-seed loop, from cached features; method key -> metric -> value."""
    rules = [check_rule(r) for r in rules]
    keys = method_keys(methods, rules)
    n = len(frames.feats)
    scores = {k: np.zeros(n) for k in keys}
    maps: dict[str, dict[int, np.ndarray]] = {m: {} for m in methods}
    masks: dict[int, np.ndarray] = {}
    for group in frames.groups():
        feats = [torch.stack([frames.feats[i][l] for i in group]) for l in range(len(frames.feats[0]))]
        grid = det.maps_from_features(feats, refs, methods)
        for j, i in enumerate(group):
            mask = small_mask(i, frames.shapes[i])
            if mask is not None:
                masks[i] = mask
            for m in methods:
                sm = to_frame(grid[m][j], frames.poses[i])  # the frame's coordinates, as predict gives them
                for r, key in zip(rules, method_keys([m], rules)):
                    scores[key][i] = image_score(sm, r)
                if mask is not None:
                    full = to_original(sm, frames.shapes[i], None)
                    maps[m][i] = downscale_for_metrics(full, np.zeros(frames.shapes[i], bool), max_side)[0]
        on_image(len(group))
    order = sorted(masks)
    gt = [masks[i] for i in order]
    out = {}
    for m in methods:
        pix = [maps[m][i] for i in order]
        pixel = {"pixel_auroc": pixel_auroc(gt, pix), "aupro": aupro(gt, pix)}
        for key in method_keys([m], rules):
            out[key] = {"image_auroc": image_auroc(list(labels), scores[key].tolist()), **pixel, "ms": float("nan")}
    return out
