"""Conditional normalizing flow acting on every feature position independently (CFLOW style).

Each block is an affine coupling in the manner of FrEIA's AllInOneBlock: half the channels predict
a soft-clamped scale and a shift for the other half through Linear-ReLU-Linear, conditioned on a
2-D sin/cos positional encoding; then a learned global affine and a fixed permutation. The
encoding enters the subnet's first layer linearly, so its contribution is one bias per position:
computed once per grid size at inference instead of once per frame.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

ATAN_SCALE = 0.636  # 2/pi: atan soft clamp, as in FrEIA


def positional_encoding(h: int, w: int, dim: int, device=None) -> torch.Tensor:
    """(h*w, dim) sin/cos of normalised row and column coordinates (dim/2 each)."""
    if dim % 4:
        raise ValueError(f"positional encoding dim must be a multiple of 4, got {dim}")
    if dim == 0:  # unconditioned flow: one residual density for every position
        return torch.zeros(h * w, 0, device=device)
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

    def cond_biases(self, pe: torch.Tensor) -> list[torch.Tensor]:
        return [blk.cond(pe) for blk in self.blocks]

    def grid_biases(self, h: int, w: int, device) -> list[torch.Tensor]:
        """Per-block condition biases of an h x w grid (inference caches them: ResADHeads)."""
        return self.cond_biases(positional_encoding(h, w, self.cond_dim, device))

    def log_prob(self, x: torch.Tensor, biases: list[torch.Tensor]) -> torch.Tensor:
        """Per-position log p divided by C (comparable across levels). x (..., C)."""
        logdet = torch.zeros(x.shape[:-1], device=x.device, dtype=x.dtype)
        z = x
        for blk, bias in zip(self.blocks, biases):
            z, ld = blk(z, bias)
            logdet = logdet + ld
        c = self.channels
        return (-0.5 * c * math.log(2 * math.pi) - 0.5 * (z * z).sum(-1) + logdet) / c


class FusedFlow:
    """Inference form of a trained ConditionalFlow: same numbers, far fewer small operations.

    The training form splits, concatenates and permutes the channels in every block. Here the
    state z keeps one fixed column order and each block's weights are scattered to the columns
    where its halves live, so a block is three matrix products and a few element-wise passes over
    the whole row, with no slicing, concatenation or permutation. Columns of the conditioning
    half get zero scale weights, so atan(0) = 0 adds nothing to the log-determinant and exp(g)
    reproduces their global affine scale. Folded in once: the soft clamp's 1/clamp, the global
    affine (into the shift head and into exp(s + g)), and the per-block log-determinant constants.
    """

    def __init__(self, flow: ConditionalFlow):
        self.channels = c = flow.channels
        self.hidden = flow.blocks[0].inp.out_features
        dev, dtype = flow.blocks[0].inp.weight.device, flow.blocks[0].inp.weight.dtype
        if len({blk.clamp for blk in flow.blocks}) != 1:
            raise ValueError("FusedFlow folds one soft-clamp constant for every block")
        self.k = flow.blocks[0].clamp * ATAN_SCALE
        self.blocks = []
        const = 0.0
        order = torch.arange(c, device=dev)  # order[j]: the column holding the training form's channel j
        for blk in flow.blocks:
            c1, c2 = blk.c1, blk.c2
            cols1, cols2 = order[:c1], order[c1:]
            log_e = blk.log_scale.detach()
            e, o = torch.exp(log_e), blk.shift.detach()
            w_out, b_out = blk.out.weight.detach(), blk.out.bias.detach()
            w_in = torch.zeros(c, self.hidden, device=dev, dtype=dtype)
            w_in[cols1] = blk.inp.weight.detach().t()
            w_s, b_s = torch.zeros(self.hidden, c, device=dev, dtype=dtype), torch.zeros(c, device=dev, dtype=dtype)
            w_s[:, cols2], b_s[cols2] = (w_out[:c2] / blk.clamp).t(), b_out[:c2] / blk.clamp
            w_t, b_t = torch.zeros(self.hidden, c, device=dev, dtype=dtype), torch.zeros(c, device=dev, dtype=dtype)
            w_t[:, cols2] = (w_out[c2:] * e[c1:, None]).t()
            b_t[cols1], b_t[cols2] = o[:c1], b_out[c2:] * e[c1:] + o[c1:]
            g = torch.zeros(c, device=dev, dtype=dtype)
            g[cols1], g[cols2] = log_e[:c1], log_e[c1:]
            self.blocks.append((w_in, w_s, b_s, w_t, b_t, g))
            const += float(log_e.sum())
            order = order[blk.perm]  # the block's output permutation, as a relabelling of columns
        self.logdet_const = const
        # Every coupling's output layer and affine at zero (the seeded start, as bundled): the flow
        # maps x to itself, so log p is the standard normal's and the blocks need not run.
        self.identity = all(not (blk.out.weight.any() or blk.out.bias.any() or blk.log_scale.any()
                                 or blk.shift.any()) for blk in flow.blocks)

    def identity_log_prob(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        """log p / C of an identity flow, over the channels in dimension dim (no permute needed)."""
        c = self.channels
        return (x * x).sum(dim).mul_(-0.5 / c).sub_(0.5 * math.log(2 * math.pi))

    def log_prob(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """x (N, C) with cond (N, n_blocks * hidden), the blocks' condition biases side by side
        (stack_biases) -> log p / C (N,)."""
        z = x
        atan_sum = torch.zeros_like(x)
        hid = self.hidden
        for i, (w_in, w_s, b_s, w_t, b_t, g) in enumerate(self.blocks):
            h = torch.addmm(cond[:, i * hid : (i + 1) * hid], z, w_in).relu_()
            u = _atan_(torch.addmm(b_s, h, w_s))
            atan_sum.add_(u)
            z = torch.addcmul(torch.addmm(b_t, h, w_t), z, torch.add(g, u, alpha=self.k).exp_())
        c = self.channels
        log_det = atan_sum.sum(1).mul_(self.k).add_(self.logdet_const)
        return log_det.sub_((z * z).sum(1), alpha=0.5).sub_(0.5 * c * math.log(2 * math.pi)).div_(c)


def stack_biases(biases: list[torch.Tensor]) -> torch.Tensor:
    """Per-block condition biases (N, hidden) each -> (N, n_blocks * hidden): one gather per frame."""
    return torch.cat(biases, 1).contiguous()


def _atan_(t: torch.Tensor) -> torch.Tensor:
    """In-place arctan of a contiguous tensor. On the CPU numpy's SIMD arctan is ~6x faster than
    torch's, which was most of a flow's time; the float32 results agree to 1 ulp. While the ONNX
    export traces the flow, torch's op (an ONNX Atan) is recorded instead (engine/onnx_export.py)."""
    if t.device.type == "cpu" and not t.requires_grad and not torch.jit.is_tracing():
        a = t.numpy()
        np.arctan(a, out=a)
        return t
    return t.atan_()
