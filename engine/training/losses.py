"""ResAD's losses (resad.md, steps 5 and 7)."""

from __future__ import annotations

import torch


def occ_loss(constrained: torch.Tensor, residual: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Abnormal-invariant one-class loss: normal positions into a small hypersphere around the
    origin, anomalous ones kept as they are (prevents collapse). Tensors (B, C, H, W), mask (B, H, W)."""
    normal = (torch.sqrt(constrained.norm(dim=1) + 1.0) - 1.0).abs()
    keep = (constrained - residual).norm(dim=1)
    return ((1.0 - mask) * normal + mask * keep).mean()


def flow_losses(logp: torch.Tensor, mask: torch.Tensor, b_n: float, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(maximum likelihood on normal positions, BG-SPP). logp, mask: (N,)."""
    normal = logp[mask < 0.5]
    anomalous = logp[mask >= 0.5]
    ml = -normal.mean() if normal.numel() else logp.new_zeros(())
    spp = (b_n - normal).clamp_min(0).mean() if normal.numel() else logp.new_zeros(())
    if anomalous.numel():
        spp = spp + (anomalous - b_n + tau).clamp_min(0).mean()
    return ml, spp
