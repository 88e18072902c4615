"""The trained part of ResAD: per level a feature constraintor and a feature distribution estimator.

constraintor: Conv3x3(C->C) + BatchNorm + ReLU, pulling normal residuals into a small hypersphere.
estimator: a conditional normalizing flow on every position of the constrained residual.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from engine.backbone import CHANNELS
from engine.flows import ConditionalFlow, FusedFlow, stack_biases


@dataclass(frozen=True)
class HeadConfig:
    channels: tuple[int, ...] = CHANNELS
    n_blocks: int = 8
    cond_dim: int = 64  # the paper uses 256; 64 keeps the flows cheap (see README, "Engine")
    hidden_ratio: float = 1.0  # coupling subnet width = ratio * C
    clamp: float = 1.9
    seed: int = 0
    residual_norm: str = "none"  # "reference": residuals / the references' scale (engine/residual_scale.py)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "HeadConfig":
        d = dict(d)
        d["channels"] = tuple(d["channels"])
        return cls(**d)


def constraintor(channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=False),
    )


class ResADHeads(nn.Module):
    def __init__(self, config: HeadConfig = HeadConfig()):
        super().__init__()
        if config.residual_norm not in ("none", "reference"):
            raise ValueError(f"residual_norm must be 'none' or 'reference', got {config.residual_norm!r}")
        self.config = config
        with torch.random.fork_rng(devices=[]):  # initial weights depend on config.seed alone
            torch.manual_seed(config.seed)
            self._build(config)
        self._fused_flows: list[FusedFlow] | None = None
        self._folded_convs: list[tuple[torch.Tensor, torch.Tensor]] | None = None
        self._grid_cache: dict[tuple, torch.Tensor] = {}  # per grid: condition biases, log p at 0

    def _build(self, config: HeadConfig) -> None:
        self.constraintors = nn.ModuleList(constraintor(c) for c in config.channels)
        self.flows = nn.ModuleList(
            ConditionalFlow(
                c,
                config.cond_dim,
                config.n_blocks,
                max(8, int(round(config.hidden_ratio * c))),
                config.clamp,
                seed=config.seed * 100 + i,
            )
            for i, c in enumerate(config.channels)
        )

    def constrain(self, level: int, residual: torch.Tensor) -> torch.Tensor:
        if self.training or torch.is_grad_enabled():
            return self.constraintors[level](residual)
        weight, bias = self._folded(level)  # inference: BatchNorm folded into the convolution
        return torch.conv2d(residual, weight, bias, padding=1).relu_()

    def _folded(self, level: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self._folded_convs is None:
            folded = []
            for conv, bn, _ in self.constraintors:
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                weight = conv.weight * scale.view(-1, 1, 1, 1)
                # channels-last like the residuals it convolves: oneDNN then needs no reorder per call
                folded.append((weight.contiguous(memory_format=torch.channels_last), bn.bias - bn.running_mean * scale))
            self._folded_convs = folded
        return self._folded_convs[level]

    def residual_log_prob(self, residuals: list[torch.Tensor], scale: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Per level log p / C maps (B, H, W) of the residuals x - x*: scaled by the references' scale
        when given, constrained, through the flow. All levels in one call: the ONNX engine runs them as
        one graph (engine/onnx_runtime.py)."""
        return [self.log_prob_map(lvl, self.constrain(lvl, r if scale is None else r / scale[lvl]))
                for lvl, r in enumerate(residuals)]

    def log_prob_map(self, level: int, constrained: torch.Tensor, dense: bool = False) -> torch.Tensor:
        """constrained (B, C, H, W) -> log p / C per position (B, H, W).

        At inference only the positions the constraintor left non-zero go through the flow: the
        ReLU maps most normal positions to exactly 0, and the flow's value at 0 depends on the
        position alone, so it is computed once per grid size. Same numbers as `dense=True`; the
        cost grows with the share of non-zero positions (the bench reports both ends). A flow that
        is the identity (the seeded start) is not run at all: its log p is the standard normal's.
        """
        b, c, h, w = constrained.shape
        flow = self.flows[level]
        if self.training or torch.is_grad_enabled():
            x = constrained.permute(0, 2, 3, 1).reshape(b, h * w, c)
            return flow.log_prob(x, flow.grid_biases(h, w, constrained.device)).view(b, h, w)
        fused = self._fused(level)
        if fused.identity and not dense:
            return fused.identity_log_prob(constrained, dim=1)
        x = constrained.permute(0, 2, 3, 1).reshape(b * h * w, c)
        cond = self._grid_cond(level, h, w, constrained.device)
        if dense:
            return fused.log_prob(x, cond.repeat(b, 1) if b > 1 else cond).view(b, h, w)
        at_zero = self._log_p_at_zero(level, h, w, constrained.device)
        out = at_zero.repeat(b) if b > 1 else at_zero.clone()  # repeat costs ~40 us even for b = 1
        # the constraintor ends in a ReLU, so a row is non-zero iff its sum is > 0 (2x faster than any())
        rows = (x.sum(1) > 0).nonzero().squeeze(1)
        if rows.numel():
            grid_rows = rows % (h * w) if b > 1 else rows
            out.index_copy_(0, rows, fused.log_prob(x.index_select(0, rows), cond.index_select(0, grid_rows)))
        return out.view(b, h, w)

    def _grid_cond(self, level: int, h: int, w: int, device) -> torch.Tensor:
        """The flow's condition biases of an h x w grid, all blocks side by side (cached)."""
        key = ("cond", level, h, w, str(device))
        cond = self._grid_cache.get(key)
        if cond is None:
            cond = stack_biases(self.flows[level].grid_biases(h, w, device))
            self._grid_cache[key] = cond
        return cond

    def _log_p_at_zero(self, level: int, h: int, w: int, device) -> torch.Tensor:
        key = ("zero", level, h, w, str(device))
        log_p = self._grid_cache.get(key)
        if log_p is None:
            zeros = torch.zeros(h * w, self.config.channels[level], device=device)
            log_p = self._fused(level).log_prob(zeros, self._grid_cond(level, h, w, device))
            self._grid_cache[key] = log_p
        return log_p

    def _fused(self, level: int) -> FusedFlow:
        if self._fused_flows is None:
            self._fused_flows = [FusedFlow(f) for f in self.flows]
        return self._fused_flows[level]

    def clear_caches(self) -> None:
        """Call after the weights change: cached condition biases and fused flows are stale."""
        self._fused_flows = None
        self._folded_convs = None
        self._grid_cache = {}
