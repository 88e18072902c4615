"""engine.search "auto": each reference set chooses between the guided and the wide search.

The guided search (engine/nn_search.py) matches the coarsest level over every position and
searches each finer level only in a window around where its parent matched. On products whose
shots show the same things at other places (boards photographed at other positions) the coarse
match often points to the wrong place, the window holds no true neighbour, and normal patches
score high; searching level 2 over every position ("wide") finds them, and on the transfer
protocol lifted the boards' image AUROC from 0.72 to 0.86. Where the coarse match is right
(solar cells, aligned screws, textures) the wide search only gives a defect more places to find
a look-alike, and lost the solar cells 0.05 (docs/evaluation-full.md).

The signal comes from the shots alone: each shot's level-2 residuals against the other shots,
leave-one-out, under both searches. guided_excess = sum of the guided norms / sum of the wide
norms - 1: how much farther the window leaves a normal patch from its true nearest neighbour.
WIDE_ABOVE sits in the gap the protocol's 240 reference draws showed at K = 2, 4 and 8: every
board draw at 0.58 or more, every other draw at 0.49 or less (the excess grows with K, since more
shots give the exhaustive search more to find). It was set from those signal values after seeing
which product lay where, and then measured (docs/evaluation-full.md, "The search chosen per reference
set").
"""

from __future__ import annotations

import math

from engine.errors import EngineError
from engine.nn_search import SEARCH_MODES
from engine.references import SET_SEARCHES, ReferenceSet
from engine.residual_scale import leave_one_out_norms

SEARCH_AUTO = "auto"
SEARCH_NAMES = (*SEARCH_MODES, SEARCH_AUTO)
WIDE_ABOVE = 0.55
SIGNAL_LEVEL = 1  # level 2 (0-based 1): the one the wide search adds to the exhaustive part


def check_search(mode: str) -> str:
    if mode not in SEARCH_NAMES:
        raise EngineError(f"search: expected one of {SEARCH_NAMES}, got {mode!r}")
    return mode


def guided_excess(refs: ReferenceSet, radius: int = 2) -> float:
    """How much larger the shots' level-2 leave-one-out residuals are under the guided search than
    under the wide one (0: the window always holds the nearest neighbour)."""
    if refs.levels <= SIGNAL_LEVEL:
        return 0.0
    sums = []
    for mode in SET_SEARCHES:
        norms = leave_one_out_norms(refs, radius, SEARCH_MODES[mode][0])
        sums.append(sum(float(shot[SIGNAL_LEVEL].sum()) for shot in norms))
    guided, wide = sums
    excess = guided / wide - 1.0 if wide > 0 else 0.0
    return excess if math.isfinite(excess) else 0.0  # features that are not finite: no evidence for wide


def choose_search(excess: float) -> str:
    return "wide" if excess > WIDE_ABOVE else "guided"


def rule_text() -> str:
    """The rule in words, from the constants (a results cache keys on it)."""
    return f"wide iff level-{SIGNAL_LEVEL + 1} leave-one-out guided/wide norm sum - 1 > {WIDE_ABOVE:g}"
