"""Nearest-neighbour search of query features in the reference pool, coarse to fine.

Level 3 (stride 16) is searched exactly over every position of every reference image. Each finer
level then searches a (2r+1)^2 window of the SAME reference image around the position its parent
matched, scaled up. A full search at level 1 for K=4 at 256 px is 4096 x 16384 distances per
frame (~170 ms on 2 cores); the guided window is ~25 candidates per position, and still follows a
part that moved, because the exact coarse match says where to look. `exact=True` searches every
level exhaustively (used to measure what the approximation costs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

QUERY_CHUNK = 4096  # rows of the distance matrix per step of an exact search


@dataclass
class LevelPool:
    """All positions of the K reference feature maps of one level, padded to a common grid."""

    feats: torch.Tensor  # (K*Hmax*Wmax, C), padding rows are zero
    sqnorm: torch.Tensor  # (K*Hmax*Wmax,), +inf on padding rows so they never win
    sizes: torch.Tensor  # (K, 2) long: valid (H, W) of each reference
    hmax: int
    wmax: int
    same_size: bool  # every reference has the full hmax x wmax grid (decided once, not per frame)

    @property
    def k(self) -> int:
        return int(self.sizes.shape[0])


    @classmethod
    def from_maps(cls, maps: list[torch.Tensor]) -> "LevelPool":
        """maps: K tensors (C, H_k, W_k)."""
        c = maps[0].shape[0]
        hmax = max(m.shape[1] for m in maps)
        wmax = max(m.shape[2] for m in maps)
        grid = maps[0].new_zeros((len(maps), hmax, wmax, c))
        valid = torch.zeros((len(maps), hmax, wmax), dtype=torch.bool)
        for i, m in enumerate(maps):
            grid[i, : m.shape[1], : m.shape[2]] = m.permute(1, 2, 0)
            valid[i, : m.shape[1], : m.shape[2]] = True
        feats = grid.reshape(-1, c).contiguous()
        sqnorm = (feats * feats).sum(1)
        sqnorm[~valid.reshape(-1).to(feats.device)] = float("inf")
        sizes = torch.tensor([[m.shape[1], m.shape[2]] for m in maps], dtype=torch.long)
        same = all(m.shape[1:] == (hmax, wmax) for m in maps)
        return cls(feats, sqnorm, sizes.to(feats.device), hmax, wmax, same)

    def unravel(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        per = self.hmax * self.wmax
        return flat // per, (flat % per) // self.wmax, flat % self.wmax


@dataclass
class Match:
    """Per query position: which reference (k) and where (y, x) its nearest neighbour is."""

    k: torch.Tensor  # (B, H, W) long
    y: torch.Tensor
    x: torch.Tensor


def exact_search(query: torch.Tensor, pool: LevelPool) -> tuple[torch.Tensor, torch.Tensor]:
    """query (N, C) -> (index into pool rows (N,), nearest feature (N, C))."""
    best = torch.empty(query.shape[0], dtype=torch.long, device=query.device)
    for start in range(0, query.shape[0], QUERY_CHUNK):
        q = query[start : start + QUERY_CHUNK]
        # ||q||^2 is constant per row, so argmin needs only ||p||^2 - 2 q.p
        d = torch.addmm(pool.sqnorm.unsqueeze(0), q, pool.feats.t(), beta=1.0, alpha=-2.0)
        best[start : start + QUERY_CHUNK] = d.argmin(1)
    return best, pool.feats.index_select(0, best)


def guided_search(
    query: torch.Tensor, pool: LevelPool, parent: Match, radius: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """query (B, H, W, C) with parent matches on the (H/2, W/2) grid -> (pool index, feature)."""
    b, h, w, c = query.shape
    dev = query.device
    ii = torch.arange(h, device=dev)
    jj = torch.arange(w, device=dev)
    pi = (ii // 2).clamp(max=parent.k.shape[1] - 1)
    pj = (jj // 2).clamp(max=parent.k.shape[2] - 1)

    def up(t: torch.Tensor) -> torch.Tensor:  # parent grid -> this grid (index_select: fast on CPU)
        return t.index_select(1, pi).index_select(2, pj)

    k = up(parent.k)  # (B, H, W)
    cy = up(parent.y) * 2 + (ii % 2).view(1, h, 1)
    cx = up(parent.x) * 2 + (jj % 2).view(1, 1, w)
    offs = torch.arange(-radius, radius + 1, device=dev)
    yy = (cy.unsqueeze(-1) + offs.view(1, 1, 1, -1)).clamp_(min=0)  # (B, H, W, 2r+1)
    xx = (cx.unsqueeze(-1) + offs.view(1, 1, 1, -1)).clamp_(min=0)
    if pool.same_size:  # the usual case: every reference has one size, clamp to it
        yy.clamp_(max=pool.hmax - 1)
        xx.clamp_(max=pool.wmax - 1)
    else:
        kf = k.reshape(-1)
        yy = torch.minimum(yy, pool.sizes[:, 0].index_select(0, kf).view(b, h, w, 1) - 1)
        xx = torch.minimum(xx, pool.sizes[:, 1].index_select(0, kf).view(b, h, w, 1) - 1)
    base = (k * (pool.hmax * pool.wmax)).unsqueeze(-1).unsqueeze(-1)
    cand = base + (yy * pool.wmax).unsqueeze(-1) + xx.unsqueeze(-2)  # (B, H, W, 2r+1, 2r+1)
    cand = cand.reshape(-1, (2 * radius + 1) ** 2)
    q = query.reshape(-1, c)
    # index_select, not pool.feats[cand]: advanced indexing is ~4x slower on the CPU here.
    feats = pool.feats.index_select(0, cand.reshape(-1)).view(*cand.shape, c)  # (N, M, C)
    # argmin ||p - q||^2 = argmin ||p||^2 - 2 q.p (||q||^2 is the same for every candidate)
    d = pool.sqnorm.index_select(0, cand.reshape(-1)).view(cand.shape)
    d = d.sub_(_row_dots(feats, q), alpha=2.0)
    best = cand.gather(1, d.argmin(1, keepdim=True)).view(b, h, w)
    return best, pool.feats.index_select(0, best.reshape(-1)).view(b, h, w, c)


def _row_dots(feats: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """(N, M, C) . (N, C) -> (N, M). On the CPU numpy's batched matmul is ~2x faster than torch's
    broadcast multiply-and-sum for these small rows (and ~4x faster than torch.bmm)."""
    if feats.device.type == "cpu" and not feats.requires_grad:
        return torch.from_numpy(np.matmul(feats.numpy(), q.numpy()[:, :, None])[:, :, 0])
    return (feats * q.unsqueeze(1)).sum(-1)


def search_levels(
    queries: list[torch.Tensor], pools: list[LevelPool], radius: int = 2, exact: bool = False
) -> list[torch.Tensor]:
    """Residuals x - x* per level for a batch.

    queries: per level (B, C, H_l, W_l) of the same images, levels ordered fine to coarse.
    Returns per level the residual (B, C, H_l, W_l).
    """
    residuals: list[torch.Tensor] = [None] * len(queries)  # type: ignore[list-item]
    parent: Match | None = None
    for lvl in reversed(range(len(queries))):
        q = queries[lvl].permute(0, 2, 3, 1).contiguous()  # (B, H, W, C)
        b, h, w, c = q.shape
        pool = pools[lvl]
        if exact or parent is None:
            idx, near = exact_search(q.reshape(-1, c), pool)
            idx = idx.view(b, h, w)
            near = near.view(b, h, w, c)
        else:
            idx, near = guided_search(q, pool, parent, radius)
        residuals[lvl] = (q - near).permute(0, 3, 1, 2)
        parent = Match(*pool.unravel(idx))
    return residuals
