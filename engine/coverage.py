"""Whole-frame checks that the patch score cannot make: is the part there, and is it this product?

The anomaly map compares each frame patch with its nearest reference patch, so a frame of plain
background (or an empty fixture, a blank frame, a missing component) finds background to match
and scores low. Two checks look the other way round, on the deepest backbone level (stride 16,
cheap: a 256 px frame has 256 positions):

- coverage ("part missing"): for each patch of a reference shot, the distance to its nearest
  frame patch within COVERAGE_RADIUS cells of the same place (32 px at 256 px: a part that sits a
  little differently is still found; searched anywhere, a board with a region removed finds the
  same traces elsewhere and looks covered); a shot's value is the mean of its worst COVERAGE_TOP
  share of patches, and the frame's value is the smallest over the shots (a frame only has to
  look like one of them). A reference region with no counterpart in the frame drives it up.
- global ("unlike the references"): the distance of the frame's global descriptor (per-channel
  mean and standard deviation of the deepest level) to the nearest shot's.

- blank ("blank frame"): the grey levels of the network's input vary by less than BLANK_STD: a
  black, white or grey frame, a lens cap. Enrollment refuses such shots, so no good part looks
  like this; on a product whose shots hold near-empty regions (a sparse DeepPCB board) a white
  frame matches them on both checks above, and only this one fails it.

Limits come from the product's own shots, leave-one-out: each shot is checked against the others.
The coverage limit is COVERAGE_FACTOR x the largest leave-one-out value; the global limit is the
largest plus the mean leave-one-out distance (the shots' own spread of poses sets the room a good
part gets). A frame inspected against all K shots is covered at least as well as a shot against
K-1, so a good frame stays further below the limits than the shots did.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F

from engine.backbone import MEAN, STD

CHECK_LEVEL = 2  # deepest level (0-based): stride 16, 112 channels
COVERAGE_TOP = 0.05  # share of a shot's patches that make its coverage value
COVERAGE_RADIUS = 2  # cells of the check level around a reference patch where its counterpart may be
COVERAGE_FACTOR = 1.5
CHECKS_KEY = "checks.v1"  # ReferenceSet.stats key: (2, 2) rows coverage / global, columns limit / largest loo
CHECK_NAMES = ("coverage", "global")
REASONS = {"coverage": "part missing", "global": "unlike the references", "blank": "blank frame"}
BLANK_STD = 1.0  # grey levels (of 255) at the network's input; area shrinking has already averaged sensor noise
_PIXEL_SCALE = torch.tensor(STD, dtype=torch.float32).view(3, 1, 1) * 255.0
_PIXEL_MEAN = torch.tensor(MEAN, dtype=torch.float32).view(3, 1, 1) * 255.0


def blank_ratio(tensor: torch.Tensor) -> float:
    """BLANK_STD / the grey-level std of a prepared frame (3, H, W), on every other pixel (striding
    keeps the noise that averaging would remove): >= 1 is a blank frame."""
    pixels = tensor[:, ::2, ::2].float().cpu() * _PIXEL_SCALE + _PIXEL_MEAN
    return ratio(BLANK_STD, float(pixels.mean(dim=0).std()))


def descriptor(level_map: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) or (C, H, W) -> (B, 2C) or (2C,): per-channel spatial mean and std."""
    flat = level_map.flatten(-2)
    return torch.cat([flat.mean(-1), flat.std(-1, unbiased=False)], dim=-1)


# Above this many (frame position, shot, shot position) distances per frame (16 MB in float32)
# the neighbourhoods are unfolded instead of taking every position against every position: a
# wide or line-scan frame's grid would make the all-pairs block grow with the square of its size.
ALL_PAIRS_LIMIT = 4_000_000


@lru_cache(maxsize=16)
def _far(height: int, width: int, radius: int, device: torch.device) -> torch.Tensor:
    """(P, 1, P) True where frame position p is more than `radius` cells from shot position q."""
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    ys, xs = ys.reshape(-1), xs.reshape(-1)
    far = ((ys[:, None] - ys[None, :]).abs() > radius) | ((xs[:, None] - xs[None, :]).abs() > radius)
    return far[:, None, :].to(device)


def _worst_mean(nearest: torch.Tensor) -> torch.Tensor:
    """(..., N) nearest distances of a shot's N patches -> (...): the mean of the worst COVERAGE_TOP."""
    top = max(1, math.ceil(COVERAGE_TOP * nearest.shape[-1]))
    return nearest.topk(top, dim=-1).values.mean(dim=-1)


def _coverage(shots: torch.Tensor, frames: torch.Tensor, radius: int = COVERAGE_RADIUS,
              all_pairs_limit: int = ALL_PAIRS_LIMIT) -> torch.Tensor:
    """shots (K, C, H, W) on the frames' grid, frames (B, C, H, W) -> (B, K) coverage per shot.

    |a - b|^2 = |a|^2 + |b|^2 - 2 a.b. At the usual check grids it is taken between every frame
    position and every shot position in one matrix product per frame, and the positions further
    than `radius` cells are masked out: (H*W)/(2r+1)^2 times the arithmetic the neighbourhoods
    need, but one GEMM, and faster (16x16 at 256 px, 2 cores: 1.2 against 5.4 ms a frame, 7.3
    against 43.6 ms for 8 frames). Larger grids unfold the neighbourhoods (memory linear in the
    grid); both give the same values (tests/test_frame_checks.py)."""
    K, C, H, W = shots.shape
    P = H * W
    if P * K * P > all_pairs_limit:
        return _coverage_unfolded(shots, frames, radius)
    flat_shots = shots.reshape(K, C, P)
    shot_sq = flat_shots.pow(2).sum(1)[None]  # (1, K, P)
    by_channel = flat_shots.permute(1, 0, 2).reshape(C, K * P)
    far = _far(H, W, radius, frames.device)
    out = []
    for frame in frames:  # one frame at a time: one (P, K, P) block under the limit
        f = frame.reshape(C, P).t()  # (P, C)
        dot = (f @ by_channel).view(P, K, P)
        d2 = (f.pow(2).sum(1)[:, None, None] + shot_sq).sub_(dot.mul_(2.0))
        d2.masked_fill_(far, float("inf"))
        out.append(_worst_mean(d2.amin(dim=0).clamp_min_(0.0).sqrt_()))
    return torch.stack(out)


def _coverage_unfolded(shots: torch.Tensor, frames: torch.Tensor, radius: int) -> torch.Tensor:
    """_coverage over the frames' unfolded (2r+1)^2 neighbourhoods, for grids too large for all pairs."""
    K, C, H, W = shots.shape
    B, P, side = frames.shape[0], H * W, 2 * radius + 1
    feats = F.unfold(F.pad(frames, (radius,) * 4), side).view(B, C, side * side, P)  # zero outside
    sq = F.unfold(F.pad(frames.pow(2).sum(1, keepdim=True), (radius,) * 4, value=float("inf")), side)
    sq = sq.view(B, side * side, P)  # +inf outside the frame: no counterpart there
    flat = shots.reshape(K, C, P)
    out = []
    for k in range(K):
        dot = (feats * flat[k].unsqueeze(1)).sum(dim=1)  # (B, S, P)
        d2 = sq + flat[k].pow(2).sum(0) - 2.0 * dot
        out.append(_worst_mean(d2.min(dim=1).values.clamp_min_(0.0).sqrt_()))
    return torch.stack(out, dim=1)


def check_values(frame_level: torch.Tensor, shot_levels: list[torch.Tensor]) -> torch.Tensor:
    """frame_level (B, C, H, W) deepest-level features of B frames; shot_levels: (C, H_k, W_k) per shot
    -> (B, 2): coverage and global values against those shots."""
    frames = frame_level.float()
    shots = [s.to(frames.device).float() for s in shot_levels]
    grids: dict[tuple[int, int], list[torch.Tensor]] = {}
    for s in shots:  # shots of another aspect ratio: compared on their own grid
        grids.setdefault(tuple(s.shape[-2:]), []).append(s)
    per_grid = []
    for hw, group in grids.items():
        resized = frames if tuple(frames.shape[-2:]) == hw else F.interpolate(
            frames, size=hw, mode="bilinear", align_corners=False)
        per_grid.append(_coverage(torch.stack(group), resized))
    coverage = torch.cat(per_grid, dim=1).min(dim=1).values
    desc = descriptor(frames)
    refs = torch.stack([descriptor(s) for s in shots])
    glob = torch.cdist(desc.unsqueeze(0), refs.unsqueeze(0))[0].min(dim=1).values
    return torch.stack([coverage, glob], dim=1)


def leave_one_out_values(shot_levels: list[torch.Tensor]) -> torch.Tensor:
    """(K, 2): each shot's coverage and global values against the other shots."""
    rows = []
    for j, shot in enumerate(shot_levels):
        others = [s for i, s in enumerate(shot_levels) if i != j]
        rows.append(check_values(shot.unsqueeze(0), others)[0])
    return torch.stack(rows)


def limits(shot_levels: list[torch.Tensor], good_values: torch.Tensor | None = None) -> torch.Tensor:
    """(2, 2): per check (coverage, global) its limit and the largest value of a good image.

    The good images are the shots, each against the others (leave-one-out), plus for the global
    check `good_values` (N, 2): other good images against all the shots (enrollment's validation
    images), which can only widen its limit. Shots that sit in near-twin pairs see small
    leave-one-out distances, and the global limit they gave alone failed 37 of 41 good screws
    of a test set ("unlike the references"); the validation images show the spread.
    """
    # a shot given twice (the same file copied; the engine API does not reject it as enrollment
    # does) matches its twin at distance 0: judged on the distinct shots, the limit is never 0
    distinct = [s for i, s in enumerate(shot_levels)
                if not any(o.shape == s.shape and torch.equal(o, s) for o in shot_levels[:i])]
    if len(distinct) < 2:  # nothing to compare a shot with: no limit to hold a frame to
        return torch.full((2, 2), float("inf"))
    loo = leave_one_out_values(distinct)
    top = loo.max(dim=0).values
    limit = torch.stack([top[0] * COVERAGE_FACTOR, top[1] + loo[:, 1].mean()])
    if good_values is not None and len(good_values):
        # only the global limit, and only wider: a missing part must still show in the coverage check
        glob = torch.cat([loo[:, 1], good_values[:, 1].to(loo)])
        top[1] = glob.max()
        limit[1] = torch.maximum(limit[1], top[1] + glob.mean())
    return torch.stack([limit, top], dim=1).cpu()


def ratio(value: float, limit: float) -> float:
    """value / limit; a limit of 0 (shots with no spread at all) fails anything above it."""
    if limit > 0:
        return value / limit
    return 0.0 if value <= 0 else float("inf")


def reason(ratios: dict[str, float]) -> str:
    """Why a frame fails the checks ("" when it passes them). A blank frame is said so first, then
    a frame unlike the references: another product also leaves every reference region uncovered."""
    for name in ("blank", "global", "coverage"):
        if not ratios.get(name, 0.0) < 1.0:  # NaN counts as failed
            return REASONS[name]
    return ""
