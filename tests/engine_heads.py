"""Heads moved off their seeded start: the bundled heads' flows are the identity, which the engine
skips, so the code paths that run real flows are tested with these."""

import torch

from engine.heads import HeadConfig, ResADHeads


def heads_off_the_identity(seed: int = 0, step: float = 0.1) -> ResADHeads:
    heads = ResADHeads(HeadConfig(seed=seed))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in heads.flows.parameters():
            p.add_(step * torch.randn(p.shape, generator=gen))
    return heads.eval()
