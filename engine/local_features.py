"""Locally aware patch features (PatchCore's neighbourhood aggregation).

Each feature is replaced by the mean of its 3x3 neighbourhood (borders average what exists), on
the references and the frames alike, before the nearest-neighbour search: a patch is then matched
with its context, and a one-cell misalignment costs less.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

NEIGHBOURHOOD = 3


def local_average(feats: list[torch.Tensor]) -> list[torch.Tensor]:
    """feats: per level (B, C, H, W) -> the same shapes, each cell its 3x3 neighbourhood's mean."""
    return [F.avg_pool2d(f, NEIGHBOURHOOD, stride=1, padding=NEIGHBOURHOOD // 2, count_include_pad=False)
            for f in feats]
