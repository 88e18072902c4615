"""From per-level maps to one anomaly map and an image score (paper Eq. 7).

Per level: the raw map (ResAD: -log p; kNN: distance to the nearest reference feature) is
standardised with statistics of the product's own good references (leave-one-out over the shots,
never test data), up-sampled bilinearly to the input size and summed; the sum is smoothed with a
Gaussian (sigma 4 input pixels); the image score is the map's maximum.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

BLUR_SIGMA = 4.0


def combine_levels(level_maps: list[torch.Tensor], stats: torch.Tensor, out_hw: tuple[int, int],
                   levels: tuple[int, ...] | None = None) -> torch.Tensor:
    """level_maps: per level (B, H_l, W_l); stats (L, 2) mean/std -> (B, h, w) summed standard scores.

    levels: which levels count (1-based; None: all, as in the paper).
    """
    total = None
    for lvl, m in enumerate(level_maps):
        if levels is not None and lvl + 1 not in levels:
            continue
        z = (m.float() - stats[lvl, 0]) / stats[lvl, 1]
        up = F.interpolate(z.unsqueeze(1), size=out_hw, mode="bilinear", align_corners=False)[:, 0]
        total = up if total is None else total + up
    return total


def smooth(map_2d: np.ndarray, sigma: float = BLUR_SIGMA) -> np.ndarray:
    return cv2.GaussianBlur(map_2d, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def level_stats(level_maps: list[torch.Tensor]) -> torch.Tensor:
    """(L, 2) mean and std of each level's good-reference map values."""
    rows = []
    for m in level_maps:
        v = m.float().reshape(-1)
        rows.append(torch.stack([v.mean(), v.std().clamp_min(1e-6)]))
    return torch.stack(rows).cpu()


def to_original(map_in: np.ndarray, original_hw: tuple[int, int], roi) -> np.ndarray:
    """Map at the processed input size -> float32 map at the original image size (ROI placed)."""
    H, W = original_hw
    if roi is None:
        return cv2.resize(map_in, (W, H), interpolation=cv2.INTER_LINEAR).astype(np.float32, copy=False)
    x, y, w, h = roi
    full = np.full((H, W), float(map_in.min()), dtype=np.float32)
    full[y : y + h, x : x + w] = cv2.resize(map_in, (w, h), interpolation=cv2.INTER_LINEAR)
    return full
