"""The engine's methods: a method name maps to how its map is computed from one backbone pass and
one search (design.md).

A *term* turns what one pass gives (per level: the features x and the residuals x - x* to their
nearest reference features) into raw per-level maps, larger = more anomalous. A *method* is the
terms its map sums; each term is standardised per level on the product's own shots first, so
terms share one scale and need no weight. A new method is one file that registers its term(s)
and its name (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PassOutputs:
    """What a term may use: one backbone pass and one search, for a batch of B images."""

    features: list[torch.Tensor]  # per level (B, C, H_l, W_l)
    residuals: list[torch.Tensor]  # per level x - x*, same shapes
    heads: object | None  # engine.heads.ResADHeads when loaded
    scale: torch.Tensor | None  # the references' residual scale, when the heads were trained with it

    def constrained(self) -> list[torch.Tensor]:
        """The heads' constraintor output per level (residuals scaled first when the model wants it)."""
        return constrain(self.heads, self.residuals, self.scale)


TermFn = Callable[[PassOutputs], list[torch.Tensor]]


@dataclass(frozen=True)
class Term:
    name: str
    compute: TermFn
    needs_heads: bool = False  # uses the trained constraintor and flows


TERM_REGISTRY: dict[str, Term] = {}
METHOD_TERMS: dict[str, tuple[str, ...]] = {}  # method name -> the terms its map sums


def register_term(name: str, *, needs_heads: bool = False) -> Callable[[TermFn], TermFn]:
    """Decorator: `fn(PassOutputs) -> per-level raw maps (B, H_l, W_l)` becomes term `name`."""
    def decorate(fn: TermFn) -> TermFn:
        if name in TERM_REGISTRY and TERM_REGISTRY[name].compute is not fn:
            raise ValueError(f"engine term {name!r} is registered twice")
        TERM_REGISTRY[name] = Term(name, fn, needs_heads)
        return fn
    return decorate


def register_method(name: str, terms: Iterable[str]) -> None:
    terms = tuple(terms)
    unknown = [t for t in terms if t not in TERM_REGISTRY]
    if not name or not terms or unknown:
        raise ValueError(f"method {name!r}: expected registered terms (some of {tuple(TERM_REGISTRY)}), got {terms}")
    if METHOD_TERMS.get(name, terms) != terms:
        raise ValueError(f"engine method {name!r} is registered twice with other terms")
    METHOD_TERMS[name] = terms


def unregister_method(name: str) -> None:
    """Take a method (and the terms no other method uses) out again: for tests that add one."""
    terms = METHOD_TERMS.pop(name, ())
    for term in terms:
        if not any(term in used for used in METHOD_TERMS.values()):
            TERM_REGISTRY.pop(term, None)


def needs_heads(name: str) -> bool:
    """Whether a method (or a term: their statistics are kept under their names) uses the heads."""
    if name in METHOD_TERMS:
        return terms_need_heads(METHOD_TERMS[name])
    return TERM_REGISTRY[name].needs_heads


def terms_need_heads(terms: Iterable[str]) -> bool:
    return any(TERM_REGISTRY[t].needs_heads for t in terms)


def terms_of(methods: Iterable[str]) -> tuple[str, ...]:
    """The terms some of `methods` sum, each once, in registration order."""
    wanted = {t for m in methods for t in METHOD_TERMS[m]}
    return tuple(t for t in TERM_REGISTRY if t in wanted)


def constrain(heads, residuals: list[torch.Tensor], scale: torch.Tensor | None) -> list[torch.Tensor]:
    return [heads.constrain(lvl, r if scale is None else r / scale[lvl]) for lvl, r in enumerate(residuals)]


@register_term("knn")
def _knn(outputs: PassOutputs) -> list[torch.Tensor]:
    """The training-free baseline: distance to the nearest reference feature."""
    return [r.norm(dim=1) for r in outputs.residuals]


@register_term("resad", needs_heads=True)
def _resad(outputs: PassOutputs) -> list[torch.Tensor]:
    """ResAD: residual -> constraintor -> flow, score -log p."""
    return [-m for m in outputs.heads.residual_log_prob(outputs.residuals, outputs.scale)]


register_method("resad", ("resad",))
register_method("knn", ("knn",))
register_method("resad+knn", ("resad", "knn"))
