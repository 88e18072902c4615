"""An engine method in one file, as docs/architecture.md describes: "l1", the L1 norm of the residual.

It reads the same residuals as "knn" (one backbone pass, one search) and sums absolute channel
differences instead of squared ones; training-free, so it needs no heads.
"""

from __future__ import annotations

import torch

from engine.methods import PassOutputs, register_method, register_term

NAME = "l1"


@register_term(NAME)
def l1_maps(outputs: PassOutputs) -> list[torch.Tensor]:
    return [r.abs().sum(dim=1) for r in outputs.residuals]


def register() -> None:
    """Registers the method (again after a test took it out: the decorator ran at import)."""
    register_term(NAME)(l1_maps)
    register_method(NAME, (NAME,))


register()
