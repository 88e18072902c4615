"""Conditional normalizing flow acting on every feature position independently (CFLOW style).

Each block is an affine coupling in the manner of FrEIA's AllInOneBlock: half the channels predict
a soft-clamped scale and a shift for the other half through Linear-ReLU-Linear, conditioned on a
2-D sin/cos positional encoding; then a learned global affine and a fixed permutation. The
encoding enters the subnet's first layer linearly, so its contribution is one bias per position:
computed once per grid size at inference instead of once per frame.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ATAN_SCALE = 0.636  # 2/pi: atan soft clamp, as in FrEIA


def positional_encoding(h: int, w: int, dim: int, device=None) -> torch.Tensor:
    """(h*w, dim) sin/cos of normalised row and column coordinates (dim/2 each)."""
    if dim % 4:
        raise ValueError(f"positional encoding dim must be a multiple of 4, got {dim}")
    quarter = dim // 4
    freqs = torch.exp(torch.arange(quarter, dtype=torch.float32) * (-math.log(1000.0) / quarter))
    ys = (torch.arange(h, dtype=torch.float32) + 0.5) / h * 100.0
    xs = (torch.arange(w, dtype=torch.float32) + 0.5) / w * 100.0
    ey = torch.cat([torch.sin(ys[:, None] * freqs), torch.cos(ys[:, None] * freqs)], 1)  # (h, dim/2)
    ex = torch.cat([torch.sin(xs[:, None] * freqs), torch.cos(xs[:, None] * freqs)], 1)
    pe = torch.cat([ey[:, None, :].expand(h, w, -1), ex[None, :, :].expand(h, w, -1)], 2)
    return pe.reshape(h * w, dim).to(device)


class CouplingBlock(nn.Module):
    def __init__(self, channels: int, cond_dim: int, hidden: int, clamp: float, perm: torch.Tensor):
        super().__init__()
        self.c1 = channels // 2
        self.c2 = channels - self.c1
        self.clamp = clamp
        self.inp = nn.Linear(self.c1, hidden, bias=False)
        self.cond = nn.Linear(cond_dim, hidden)
        self.out = nn.Linear(hidden, 2 * self.c2)
        nn.init.zeros_(self.out.weight)  # start as the identity map: stable first steps
        nn.init.zeros_(self.out.bias)
        self.log_scale = nn.Parameter(torch.zeros(channels))
        self.shift = nn.Parameter(torch.zeros(channels))
        self.register_buffer("perm", perm.clone(), persistent=True)

    def forward(self, x: torch.Tensor, cond_bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (..., C), cond_bias broadcastable to (..., hidden) -> (y, log|det J| (...))."""
        x1, x2 = x[..., : self.c1], x[..., self.c1 :]
        hid = torch.relu(self.inp(x1) + cond_bias)
        s_raw, t = self.out(hid).chunk(2, dim=-1)
        s = self.clamp * ATAN_SCALE * torch.atan(s_raw / self.clamp)
        y = torch.cat([x1, x2 * torch.exp(s) + t], dim=-1)
        y = y * torch.exp(self.log_scale) + self.shift
        logdet = s.sum(-1) + self.log_scale.sum()
        return y[..., self.perm], logdet


class ConditionalFlow(nn.Module):
    def __init__(self, channels: int, cond_dim: int, n_blocks: int, hidden: int, clamp: float, seed: int):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.channels = channels
        self.cond_dim = cond_dim
        self.blocks = nn.ModuleList(
            CouplingBlock(channels, cond_dim, hidden, clamp, torch.randperm(channels, generator=gen))
            for _ in range(n_blocks)
        )
        self._bias_cache: dict[tuple[int, int, str], list[torch.Tensor]] = {}

    def cond_biases(self, pe: torch.Tensor) -> list[torch.Tensor]:
        return [blk.cond(pe) for blk in self.blocks]

    def grid_biases(self, h: int, w: int, device) -> list[torch.Tensor]:
        """Per-block condition biases of an h x w grid; cached while the weights are frozen."""
        if self.training or torch.is_grad_enabled():
            return self.cond_biases(positional_encoding(h, w, self.cond_dim, device))
        key = (h, w, str(device))
        if key not in self._bias_cache:
            self._bias_cache[key] = self.cond_biases(positional_encoding(h, w, self.cond_dim, device))
        return self._bias_cache[key]

    def clear_cache(self) -> None:
        self._bias_cache.clear()

    def log_prob(self, x: torch.Tensor, biases: list[torch.Tensor]) -> torch.Tensor:
        """Per-position log p divided by C (comparable across levels). x (..., C)."""
        logdet = torch.zeros(x.shape[:-1], device=x.device, dtype=x.dtype)
        z = x
        for blk, bias in zip(self.blocks, biases):
            z, ld = blk(z, bias)
            logdet = logdet + ld
        c = self.channels
        return (-0.5 * c * math.log(2 * math.pi) - 0.5 * (z * z).sum(-1) + logdet) / c
