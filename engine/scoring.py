"""From per-level maps to one anomaly map and an image score (paper Eq. 7).

Per level: the raw map (ResAD: -log p; kNN: distance to the nearest reference feature) is
standardised with statistics of the product's own good references (leave-one-out over the shots,
never test data), up-sampled bilinearly and summed; the sum is smoothed with a Gaussian (sigma 4
input pixels); the image score is the map's maximum.

The levels are summed and smoothed on the finest level's grid (stride 4), not at the input size:
the same sigma of 4 input pixels is 1 grid cell there, and bilinear up-sampling commutes with the
blur up to interpolation error, so the map is the same up to sub-cell detail the blur removes
anyway, for 1/16 of the pixels. It is up-sampled once, to the original image.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from engine.backbone import STRIDES

BLUR_SIGMA = 4.0  # input pixels
MAP_STRIDE = STRIDES[0]  # the combined map lives on the finest level's grid
SCORE_SCHEME = "grid4"  # named in score ids: scores of another scheme need new thresholds


def combine_levels(level_maps: list[torch.Tensor], stats: torch.Tensor,
                   levels: tuple[int, ...] | None = None) -> torch.Tensor:
    """level_maps: per level (B, H_l, W_l), finest first; stats (L, 2) mean/std ->
    (B, H_1, W_1) summed standard scores on the finest grid.

    levels: which levels count (1-based; None: all, as in the paper).
    """
    grid = tuple(level_maps[0].shape[-2:])
    total = None
    for lvl, m in enumerate(level_maps):
        if levels is not None and lvl + 1 not in levels:
            continue
        mean, std = stats[lvl].tolist()
        z = torch.sub(m.float(), mean).div_(std)
        if tuple(z.shape[-2:]) != grid:
            z = F.interpolate(z.unsqueeze(1), size=grid, mode="bilinear", align_corners=False)[:, 0]
        total = z if total is None else total + z
    return total


def smooth(map_2d: np.ndarray, sigma: float = BLUR_SIGMA / MAP_STRIDE) -> np.ndarray:
    return cv2.GaussianBlur(map_2d, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def level_stats(level_maps: list[torch.Tensor]) -> torch.Tensor:
    """(L, 2) mean and std of each level's good-reference map values."""
    rows = []
    for m in level_maps:
        v = m.float().reshape(-1)
        rows.append(torch.stack([v.mean(), v.std().clamp_min(1e-6)]))
    return torch.stack(rows).cpu()


def to_original(map_in: np.ndarray, original_hw: tuple[int, int], roi) -> np.ndarray:
    """Map on the finest grid -> float32 map at the original image size (ROI placed)."""
    H, W = original_hw
    if roi is None:
        return cv2.resize(map_in, (W, H), interpolation=cv2.INTER_LINEAR).astype(np.float32, copy=False)
    x, y, w, h = roi
    full = np.full((H, W), float(map_in.min()), dtype=np.float32)
    full[y : y + h, x : x + w] = cv2.resize(map_in, (w, h), interpolation=cv2.INTER_LINEAR)
    return full
