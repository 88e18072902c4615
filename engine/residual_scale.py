"""Residual scale from a product's own references (an option of the heads, off by default).

How large a normal residual is depends on the product: a textured tile leaves bigger residuals
than a plain board. A model trained on some products then meets another scale on a new one, and
its constraintor no longer maps the new product's normal residuals near zero. With
`HeadConfig.residual_norm = "reference"` each level's residuals are divided by the mean
leave-one-out residual norm of the K references (each shot matched against the others), in
training and at inference alike. It comes from the good references alone, never from test data,
and it is a fixed number per reference set, so a wholly wrong part still stands out. The mean,
not the median: aligned boards match exactly over most of their area, and a median of 0 would
divide by nothing.
"""

from __future__ import annotations

import torch

from engine.nn_search import search_levels
from engine.references import ReferenceSet


def leave_one_out_norms(refs: ReferenceSet, radius: int = 2, exhaustive: int = 1) -> list[list[torch.Tensor]]:
    """Per shot, per level, the norms (H, W) of its residuals against the other shots (the
    reference set's own leave-one-out pools, which its statistics pass builds too); exhaustive:
    how many coarsest levels are searched over every position (engine.nn_search.SEARCH_MODES)."""
    out = []
    for i, shot in enumerate(refs.maps):
        residuals = search_levels([f.unsqueeze(0) for f in shot], refs.pools("cpu", exclude=i), radius, exhaustive)
        out.append([r[0].norm(dim=0) for r in residuals])
    return out


def residual_scale(norms: list[list[torch.Tensor]]) -> torch.Tensor:
    """Per shot, per level norms -> (L,) mean norm per level (floored so it can divide)."""
    levels = len(norms[0])
    return torch.stack([torch.cat([n[level].reshape(-1) for n in norms]).mean() for level in range(levels)]).clamp_min(1e-3)
