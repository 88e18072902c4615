"""Nearest-neighbour search of query features in the reference pool, coarse to fine.

Level 3 (stride 16) is searched exactly over every position of every reference image. Each finer
level then searches a (2r+1)^2 window of the SAME reference image around the position its parent
matched, scaled up. A full search at level 1 for K=4 at 256 px is 4096 x 16384 distances per
frame (~170 ms on 2 cores); the guided window is ~25 candidates per position, and still follows a
part that moved, because the exact coarse match says where to look.

SEARCH_MODES name how many of the coarsest levels are searched exhaustively, and how many of the
best coarse matches guide the next level: "guided" (level 3, its best match), "broad" (level 3,
its best COARSE_MATCHES matches: level 2 searches the window around each, which helps where the
single best coarse match is often the wrong place, as on boards photographed at other positions;
about 0.5 ms more per frame), "wide" (levels 2 and 3 exhaustively; about 3-4 ms more per frame at
256 px) and "exact" (every level; about 0.2 s per frame, to measure what the approximation costs).

Distances are computed in float64. The search ranks candidates by ||p||^2 - 2 q.p (one matrix
product); in float32 that sum, with ||p||^2 at 5,000-13,000 on the demo's features, carries an
error larger than the gap between many candidates, and the pick among them follows rounding: on
two demo frames 421 of 2048 picks at level 2 and 9 of 512 at level 3 were not the nearest. Other
rounding (another runtime, another thread count) then flips picks and moved the map by up to
4e-3. In float64 the pick is the true nearest; the pool is converted per search (it is small)
and the residual is taken from the float32 features. It costs about 0.9 ms per frame (256 px,
K=4, 2 cores).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

# Rows of the distance matrix per step of an exact search: about CHUNK_DISTANCES distances (16 MB
# of float64), so that a step's matrix is still in the cache when its argmin reads it, within
# [MIN_CHUNK, QUERY_CHUNK] rows. Level 2 at 512 px, K=4 (4096 x 16384 distances) took 240-285 ms
# in one step and 135-165 ms in steps of 128 rows, the same picks (2 cores; steps of 32-64 rows
# and of 256 or more were slower).
QUERY_CHUNK = 4096
MIN_CHUNK = 96
CHUNK_DISTANCES = 1 << 21
COARSE_MATCHES = 3  # "broad": best matches of the coarse level that each guide a window below it
# name -> (how many coarsest levels are searched exhaustively, how many of their best matches guide the next)
SEARCH_MODES = {"guided": (1, 1), "broad": (1, COARSE_MATCHES), "wide": (2, 1), "exact": (3, 1)}


@dataclass
class LevelPool:
    """All positions of the K reference feature maps of one level, padded to a common grid."""

    feats: torch.Tensor  # (K*Hmax*Wmax, C), padding rows are zero
    sqnorm: torch.Tensor  # (K*Hmax*Wmax,) float64, +inf on padding rows so they never win
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
        feats64 = feats.double()  # what the distances are computed in; not kept (3x the pool's memory)
        sqnorm = (feats64 * feats64).sum(1)
        sqnorm[~valid.reshape(-1).to(feats.device)] = float("inf")
        sizes = torch.tensor([[m.shape[1], m.shape[2]] for m in maps], dtype=torch.long)
        same = all(m.shape[1:] == (hmax, wmax) for m in maps)
        return cls(feats, sqnorm, sizes.to(feats.device), hmax, wmax, same)

    def unravel(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        per = self.hmax * self.wmax
        return flat // per, (flat % per) // self.wmax, flat % self.wmax


@dataclass
class Match:
    """Per query position: which reference (k) and where (y, x) its nearest neighbour is; with a
    trailing dimension (B, H, W, T), its T best matches, the nearest first."""

    k: torch.Tensor  # (B, H, W) or (B, H, W, T) long
    y: torch.Tensor
    x: torch.Tensor

    def best(self) -> "Match":
        return self if self.k.dim() == 3 else Match(self.k[..., 0], self.y[..., 0], self.x[..., 0])


def _chunked_distances(query: torch.Tensor, pool: LevelPool):
    """(start, d) per chunk of QUERY_CHUNK query rows: d[i, j] = ||p_j||^2 - 2 q_i.p_j, which orders
    the pool rows like the squared distance (||q_i||^2 is the same along a row)."""
    feats64 = pool.feats.double()  # once per search: the pools are small (1024 x 112 at level 3, 256 px, K=4)
    rows = min(QUERY_CHUNK, max(MIN_CHUNK, CHUNK_DISTANCES // max(1, pool.feats.shape[0])))
    for start in range(0, query.shape[0], rows):
        q = query[start : start + rows].double()
        yield start, torch.addmm(pool.sqnorm.unsqueeze(0), q, feats64.t(), beta=1.0, alpha=-2.0)


def exact_search(query: torch.Tensor, pool: LevelPool) -> tuple[torch.Tensor, torch.Tensor]:
    """query (N, C) -> (index into pool rows (N,), nearest feature (N, C))."""
    best = torch.empty(query.shape[0], dtype=torch.long, device=query.device)
    for start, d in _chunked_distances(query, pool):
        best[start : start + d.shape[0]] = _argmin_rows(d)
    return best, pool.feats.index_select(0, best)


def exact_search_top(query: torch.Tensor, pool: LevelPool, top: int) -> tuple[torch.Tensor, torch.Tensor]:
    """query (N, C) -> (pool rows of the `top` nearest (N, top), nearest first; nearest feature (N, C)).
    Column 0 is exact_search's answer, ties included."""
    best = torch.empty(query.shape[0], top, dtype=torch.long, device=query.device)
    for start, d in _chunked_distances(query, pool):
        rows = d.topk(min(top, d.shape[1]), dim=1, largest=False, sorted=True).indices
        rows[:, 0] = _argmin_rows(d)  # topk orders ties freely; the nearest is argmin's, as in every mode
        chunk = best[start : start + d.shape[0]]
        chunk[:, : rows.shape[1]] = rows
        chunk[:, rows.shape[1] :] = rows[:, :1]  # a pool of fewer rows than `top`: repeat the nearest
    return best, pool.feats.index_select(0, best[:, 0])


def _argmin_rows(d: torch.Tensor) -> torch.Tensor:
    """Column of the smallest value of each row of a 2-D matrix (the first on ties, as torch).
    On the CPU numpy's SIMD argmin is ~10x faster than torch's on rows this long (256 x 1024:
    16 us against 160 us here); torch's wins on the short rows of the windowed searches."""
    if d.device.type == "cpu" and not d.requires_grad:
        return torch.from_numpy(d.numpy().argmin(1))
    return d.argmin(1)


def guided_search(
    query: torch.Tensor, pool: LevelPool, parent: Match, radius: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """query (B, H, W, C) with parent matches on the (H/2, W/2) grid -> (pool index, feature)."""
    b, h, w, c = query.shape
    if (h, w) == (2 * parent.k.shape[1], 2 * parent.k.shape[2]):
        best = _shared_window_search(query, pool, parent, radius)
        return best, pool.feats.index_select(0, best.reshape(-1)).view(b, h, w, c)
    return _per_child_search(query, pool, parent, radius)


def _window_rows(pool: LevelPool, k: torch.Tensor, y: torch.Tensor, x: torch.Tensor, scale: int,
                 offsets: torch.Tensor) -> torch.Tensor:
    """Pool rows of the windows of reference k at rows scale*y + offsets and columns
    scale*x + offsets, clamped inside that reference's grid: (..., n, n) for n offsets."""
    yy = torch.add(offsets, y.unsqueeze(-1), alpha=scale)  # (..., n)
    xx = torch.add(offsets, x.unsqueeze(-1), alpha=scale)
    if pool.same_size:  # the usual case: every reference has one size, clamp to it
        yy.clamp_(0, pool.hmax - 1)
        xx.clamp_(0, pool.wmax - 1)
    else:
        yy = torch.minimum(yy.clamp_(min=0), pool.sizes[:, 0][k].unsqueeze(-1) - 1)
        xx = torch.minimum(xx.clamp_(min=0), pool.sizes[:, 1][k].unsqueeze(-1) - 1)
    yy.add_((k * pool.hmax).unsqueeze(-1)).mul_(pool.wmax)  # where each window row starts in the pool
    return yy.unsqueeze(-1) + xx.unsqueeze(-2)


@functools.lru_cache(maxsize=16)
def _offsets(first: int, last: int, device: torch.device) -> torch.Tensor:
    return torch.arange(first, last + 1, device=device)


@functools.lru_cache(maxsize=8)
def _child_masks(radius: int, device: torch.device) -> torch.Tensor:
    """(4, n*n) additive mask: 0 where a shared-window cell lies in child (dy, dx)'s own window
    (rows dy..dy+2r, columns dx..dx+2r), +inf elsewhere. Children ordered (0,0), (0,1), (1,0), (1,1)."""
    n = 2 * radius + 2
    r = torch.arange(n, device=device)
    masks = []
    for dy in (0, 1):
        for dx in (0, 1):
            inside = ((r >= dy) & (r <= dy + 2 * radius)).view(n, 1) & ((r >= dx) & (r <= dx + 2 * radius)).view(1, n)
            masks.append(torch.where(inside, 0.0, float("inf")).reshape(-1))
    return torch.stack(masks).double()


def _shared_window_search(query: torch.Tensor, pool: LevelPool, parent: Match, radius: int) -> torch.Tensor:
    """The four children of a parent position search windows that overlap: child (dy, dx)'s
    (2r+1)^2 window around 2*match + (dy, dx) lies inside one (2r+2)^2 window around 2*match.
    Gathering that shared window once per parent moves 36 reference rows instead of 4 x 25 (r=2);
    a mask keeps each child to its own window, so the result equals the per-child search. A parent
    with T matches (Match of shape (B, H, W, T)) gathers T shared windows and searches them all."""
    b, h, w, c = query.shape
    n = 2 * radius + 2
    alternatives = 1 if parent.k.dim() == 3 else parent.k.shape[-1]
    rows = _window_rows(pool, parent.k, parent.y, parent.x, 2, _offsets(-radius, radius + 1, query.device))  # (B, Hp, Wp[, T], n, n)
    rows = rows.reshape(-1, alternatives * n * n)  # (P, T*n*n)
    # children of each parent together: (B, Hp, 2, Wp, 2, C) -> (P, 4, C)
    q = query.view(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, 4, c).double()
    feats = pool.feats.index_select(0, rows.reshape(-1)).view(*rows.shape, c).double()  # (P, T*n*n, C)
    # argmin ||p - q||^2 = argmin ||p||^2 - 2 q.p; (P, 4, T*n*n) so the argmin runs along memory
    d = torch.bmm(q, feats.transpose(1, 2)).mul_(-2.0)
    masks = _child_masks(radius, query.device)
    d.add_(pool.sqnorm.index_select(0, rows.reshape(-1)).view(-1, 1, rows.shape[1]))
    d.add_(masks if alternatives == 1 else masks.repeat(1, alternatives))
    best = rows.gather(1, d.argmin(2))  # (P, 4)
    return best.view(b, h // 2, w // 2, 2, 2).permute(0, 1, 3, 2, 4).reshape(b, h, w)


def _per_child_search(
    query: torch.Tensor, pool: LevelPool, parent: Match, radius: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each position gathers its own window (grids that are not exactly twice the parent's; these
    follow the best parent match only)."""
    parent = parent.best()
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
    cand = _window_rows(pool, k, cy, cx, 1, _offsets(-radius, radius, dev)).reshape(-1, (2 * radius + 1) ** 2)
    q = query.reshape(-1, c).double()
    # index_select, not pool.feats[cand]: advanced indexing is ~4x slower on the CPU here.
    feats = pool.feats.index_select(0, cand.reshape(-1)).view(*cand.shape, c).double()  # (N, M, C)
    # argmin ||p - q||^2 = argmin ||p||^2 - 2 q.p (||q||^2 is the same for every candidate)
    d = pool.sqnorm.index_select(0, cand.reshape(-1)).view(cand.shape)
    d = d.sub_(_row_dots(feats, q), alpha=2.0)
    best = cand.gather(1, d.argmin(1, keepdim=True)).view(b, h, w)
    return best, pool.feats.index_select(0, best.reshape(-1)).view(b, h, w, c)


def _row_dots(feats: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """(N, M, C) . (N, C) -> (N, M): one matrix-vector product per position. On the CPU numpy's
    batched matmul is ~2x faster than torch's broadcast multiply-and-sum here and ~4x faster than
    torch.bmm (the shared-window search multiplies 4 queries at once, where bmm does well)."""
    if feats.device.type == "cpu" and not feats.requires_grad:
        return torch.from_numpy(np.matmul(feats.numpy(), q.numpy()[:, :, None])[:, :, 0])
    return (feats * q.unsqueeze(1)).sum(-1)


def search_levels(
    queries: list[torch.Tensor], pools: list[LevelPool], radius: int = 2, exhaustive: int = 1, matches: int = 1,
    found: list[Match] | None = None,
) -> list[torch.Tensor]:
    """Residuals x - x* per level for a batch.

    queries: per level (B, C, H_l, W_l) of the same images, levels ordered fine to coarse.
    exhaustive: how many of the coarsest levels are searched over every position (SEARCH_MODES).
    matches: how many of the best matches of the finest exhaustive level guide the level below it.
    found: when given, the finest level's matches (Match of (B, H_1, W_1)) are appended to it:
    which shot and where each position matched (the "why" view shows that reference patch).
    Returns per level the residual (B, C, H_l, W_l).
    """
    residuals: list[torch.Tensor] = [None] * len(queries)  # type: ignore[list-item]
    parent: Match | None = None
    for lvl in reversed(range(len(queries))):
        q = queries[lvl].permute(0, 2, 3, 1).contiguous()  # (B, H, W, C)
        b, h, w, c = q.shape
        pool = pools[lvl]
        if lvl >= len(queries) - exhaustive or parent is None:
            if matches > 1 and lvl == len(queries) - exhaustive and lvl:  # its matches guide the next level
                idx, near = exact_search_top(q.reshape(-1, c), pool, matches)
                idx = idx.view(b, h, w, -1)
            else:
                idx, near = exact_search(q.reshape(-1, c), pool)
                idx = idx.view(b, h, w)
            near = near.view(b, h, w, c)
        else:
            idx, near = guided_search(q, pool, parent, radius)
        residuals[lvl] = (q - near).permute(0, 3, 1, 2)
        if lvl == 0 and found is not None:
            found.append(Match(*pool.unravel(idx)).best())
        if lvl:  # the finest level guides nothing
            parent = Match(*pool.unravel(idx))
    return residuals
