"""Anomaly-detection metrics: image AUROC, pixel AUROC and AUPRO (MVTec AD conventions).

Pixel metrics take lists of per-image masks (bool HxW) and anomaly maps (float HxW); sizes may
differ between images. Good test images take part with an all-False mask. Anomalous images that
have no pixel annotation must be left out by the caller.

Memory: `downscale_for_metrics` shrinks a map and its mask so the longer side is at most 256
(maps by area averaging, masks by area coverage >= 0.5 with thin regions kept), and
`pixel_auroc` keeps every anomalous pixel but subsamples normal pixels deterministically beyond a
budget; AUROC depends only on the two class-conditional score distributions, so this estimate is
unbiased.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
from sklearn.metrics import roc_auc_score

DEFAULT_MAX_SIDE = 256
DEFAULT_MAX_PIXELS = 8_000_000
AUPRO_FPR_LIMIT = 0.3


def image_auroc(labels: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC of image scores (label True = anomalous). NaN when a class is absent."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape:
        raise ValueError(f"image_auroc: {y.shape[0]} labels but {s.shape[0]} scores")
    if not np.isfinite(s).all():
        bad = np.flatnonzero(~np.isfinite(s))
        raise ValueError(f"image_auroc: {bad.size} score(s) are NaN or infinite, e.g. at positions {bad[:5].tolist()}")
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, s))


def downscale_for_metrics(anomaly_map: np.ndarray, mask: np.ndarray,
                          max_side: int = DEFAULT_MAX_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """(map float32, mask bool) with the longer side at most max_side; unchanged when smaller."""
    anomaly_map = np.asarray(anomaly_map, dtype=np.float32)
    mask = np.asarray(mask, dtype=bool)
    if anomaly_map.shape != mask.shape:
        raise ValueError(f"anomaly map {anomaly_map.shape} and mask {mask.shape} differ in size")
    h, w = mask.shape
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return anomaly_map, mask
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small_map = cv2.resize(anomaly_map, size, interpolation=cv2.INTER_AREA)
    coverage = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    small_mask = coverage >= 0.5
    if mask.any() and not small_mask.any():
        small_mask = coverage > 0  # a thin defect (scratch) must not vanish
    return small_map, small_mask


def _check_pairs(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray]) -> None:
    if len(masks) != len(maps):
        raise ValueError(f"{len(masks)} masks but {len(maps)} anomaly maps")
    for i, (m, a) in enumerate(zip(masks, maps)):
        if np.shape(m) != np.shape(a):
            raise ValueError(f"image {i}: mask {np.shape(m)} and anomaly map {np.shape(a)} differ in size")


def pixel_auroc(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray],
                max_pixels: int = DEFAULT_MAX_PIXELS, seed: int = 0) -> float:
    """ROC AUC over all pixels of all given images. NaN when no pixel (or every pixel) is anomalous.

    Beyond max_pixels, normal pixels are subsampled with np.random.default_rng(seed) (all
    anomalous pixels are kept), so the result is deterministic.
    """
    _check_pairs(masks, maps)
    if not masks:
        return float("nan")
    y = np.concatenate([np.asarray(m, dtype=bool).ravel() for m in masks])
    s = np.concatenate([np.asarray(a, dtype=np.float32).ravel() for a in maps])
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        return float("nan")
    if y.size > max_pixels:
        neg = np.flatnonzero(~y)
        keep = max(1, max_pixels - n_pos)
        if keep < neg.size:
            chosen = np.random.default_rng(seed).choice(neg, size=keep, replace=False)
            idx = np.concatenate([np.flatnonzero(y), chosen])
            y, s = y[idx], s[idx]
    return rank_auroc(y, s)


def rank_auroc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic: one sort, ties at their average rank (equal to
    sklearn's roc_auc_score, which sorts more than once and takes about 3x as long on the
    millions of pixels a pixel AUROC has)."""
    order = np.argsort(s)
    ss, yy = s[order], y[order]
    starts = np.concatenate([[0], np.flatnonzero(ss[1:] != ss[:-1]) + 1])
    ends = np.append(starts[1:], ss.size)
    pos = np.add.reduceat(yy.astype(np.int64), starts)
    n_pos = int(pos.sum())
    n_neg = ss.size - n_pos
    rank_sum = float(np.dot((starts + ends + 1) / 2.0, pos))  # 1-based average rank of each tie group
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def pro_curve(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray],
              max_fpr: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The exact per-region-overlap curve: (fpr, pro), both non-decreasing, from (0, 0) to (1, 1),
    or, with max_fpr < 1, up to the first point beyond max_fpr (only those pixels are sorted).

    Every distinct score is a threshold. Sorting all pixels by score once gives, for each
    threshold, FPR = normal pixels above it / all normal pixels and PRO = mean over ground-truth
    regions (8-connected components, numbered across all images) of the fraction of the region
    above it; the latter is a cumulative sum of 1 / (region size * number of regions).
    """
    _check_pairs(masks, maps)
    weights, scores = [], []
    n_regions = 0
    for mask, amap in zip(masks, maps):
        mask = np.asarray(mask, dtype=bool)
        n_labels, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        sizes = np.bincount(labels.ravel(), minlength=n_labels).astype(np.float64)
        inv = np.zeros(n_labels, dtype=np.float64)
        inv[1:] = 1.0 / sizes[1:]
        weights.append(inv[labels.ravel()])  # 0 for normal pixels
        scores.append(np.asarray(amap, dtype=np.float32).ravel())
        n_regions += n_labels - 1
    w = np.concatenate(weights) if weights else np.zeros(0)
    s = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    normal = w == 0
    n_normal = int(normal.sum())
    if n_regions == 0 or n_normal == 0:
        raise ValueError("pro_curve needs at least one anomalous region and one normal pixel")
    if max_fpr < 1.0:
        # Pixels scoring below the normal pixel that takes FPR past max_fpr cannot change the
        # curve before it: drop them before sorting (saves most of the time and memory).
        n_keep = min(n_normal, int(np.ceil(max_fpr * n_normal)) + 1)
        normal_scores = s[normal]
        cut = np.partition(normal_scores, n_normal - n_keep)[n_normal - n_keep]
        keep = s >= cut
        s, w, normal = s[keep], w[keep], normal[keep]
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    fpr = np.cumsum(normal[order]) / n_normal
    pro = np.cumsum(w[order]) / n_regions
    # Pixels with equal scores pass a threshold together: keep the last of each run of ties.
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    return np.r_[0.0, fpr[last]], np.r_[0.0, np.minimum(pro[last], 1.0)]


def aupro(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray], fpr_limit: float = AUPRO_FPR_LIMIT) -> float:
    """Area under the PRO curve for FPR in [0, fpr_limit], divided by fpr_limit (1.0 = perfect).

    NaN when there is no anomalous region or no normal pixel.
    """
    if not 0.0 < fpr_limit <= 1.0:
        raise ValueError(f"aupro: fpr_limit must be in (0, 1], got {fpr_limit}")
    try:
        fpr, pro = pro_curve(masks, maps, max_fpr=fpr_limit)
    except ValueError:
        return float("nan")
    # Cut the curve at fpr_limit, interpolating PRO there (the curve is piecewise linear).
    end = int(np.searchsorted(fpr, fpr_limit, side="right"))
    x, y = fpr[:end], pro[:end]
    if x[-1] < fpr_limit:
        x0, x1, y0, y1 = fpr[end - 1], fpr[end], pro[end - 1], pro[end]
        y_cut = y0 + (y1 - y0) * (fpr_limit - x0) / (x1 - x0)
        x, y = np.r_[x, fpr_limit], np.r_[y, y_cut]
    return float(np.trapezoid(y, x) / fpr_limit)
