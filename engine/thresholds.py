"""Where T1 (uncertain) and T2 (fail) go, from good scores and synthetic-defect scores alone.

Scores have no fixed scale, so everything is relative to the good scores G (the shots
leave-one-out, plus any validation images) and their spread s = max(std G, 5 % of |max G|):

    false-alarm budget (floors):  T1 >= max G + 0.1 s  and  T1 >= mean G + 1.645 std G
                                  T2 >= max G + 1 s    and  T2 >= mean G + 2.576 std G, T2 >= T1 + 0.5 s
    T1 = midway between max G and the synthetic defects' 5 % quantile, at most max G + 3 s
    T2 = the synthetic defects' 10 % quantile, at most max G + 6 s

Every good image seen passes, and under a normal fit of the good scores at most 5 % of good
parts would go to review and 0.5 % fail. Above the floors T1 sits between the good scores and
where the synthetic defects D start, T2 where 90 % of them fail; the ceilings keep a run of
blatant synthetic defects from lifting the thresholds past subtler real ones. Defects that score
low keep the thresholds at their floors (the self-test then says the separation is weak). Without
synthetic scores (a calibration of an earlier version, a recalibration from stored features)
T1 = max G + 0.5 s and T2 = max G + 3 s, the rule before the self-test, within the same floors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

RELATIVE_SPREAD_FLOOR = 0.05
UNCERTAIN_FLOOR, UNCERTAIN_CEILING = 0.1, 3.0  # spreads above the largest good score
FAIL_FLOOR, FAIL_CEILING = 1.0, 6.0
FAIL_ABOVE_UNCERTAIN = 0.5  # spreads: an uncertain band at least this wide
UNCERTAIN_PLAIN, FAIL_PLAIN = 0.5, 3.0  # without synthetic scores
Z_UNCERTAIN, Z_FAIL = 1.645, 2.576  # one-sided normal quantiles of the 5 % and 0.5 % budgets
UNCERTAIN_QUANTILE, FAIL_QUANTILE = 0.05, 0.10  # of the synthetic-defect scores
def rule_text() -> str:
    """The rule in words, written from the constants above (a results cache keys on it, so a changed
    constant is a changed rule)."""
    return (f"T1 = (max G + D's {UNCERTAIN_QUANTILE:.0%} quantile) / 2 within [max(max G + {UNCERTAIN_FLOOR:g} s, "
            f"mean G + {Z_UNCERTAIN:g} std G), max G + {UNCERTAIN_CEILING:g} s]; "
            f"T2 = D's {FAIL_QUANTILE:.0%} quantile within [max(max G + {FAIL_FLOOR:g} s, mean G + {Z_FAIL:g} std G, "
            f"T1 + {FAIL_ABOVE_UNCERTAIN:g} s), max G + {FAIL_CEILING:g} s]; "
            f"s = max(std G, {RELATIVE_SPREAD_FLOOR:.0%} |max G|); G good scores, D synthetic-defect scores "
            f"(without D: T1 = max G + {UNCERTAIN_PLAIN:g} s, T2 = max G + {FAIL_PLAIN:g} s within the same floors)")


RULE = rule_text()


class ThresholdRuleError(ValueError):
    """Good scores that thresholds cannot be placed on (none, or not finite)."""


@dataclass(frozen=True)
class Placement:
    t_uncertain: float
    t_fail: float
    mean: float
    std: float
    max: float
    spread: float


def _finite(values: Sequence[float], what: str) -> np.ndarray:
    arr = np.asarray([float(v) for v in values], dtype=np.float64)
    bad = [v for v in arr.tolist() if not math.isfinite(v)]
    if bad:
        raise ThresholdRuleError(f"{what}: non-finite scores {bad}")
    return arr


def place(good: Sequence[float], synthetic: Sequence[float] = ()) -> Placement:
    g = _finite(good, "good scores")
    if g.size == 0:
        raise ThresholdRuleError("thresholds need at least one good score (K >= 2 shots or validation images)")
    d = _finite(synthetic, "synthetic-defect scores")
    mean, top = float(g.mean()), float(g.max())
    std = float(g.std(ddof=1)) if g.size > 1 else 0.0
    s = max(std, RELATIVE_SPREAD_FLOOR * abs(top), 1e-6)
    t1_lo = max(top + UNCERTAIN_FLOOR * s, mean + Z_UNCERTAIN * std)
    t2_lo = max(top + FAIL_FLOOR * s, mean + Z_FAIL * std)
    if d.size:
        midway = (top + float(np.quantile(d, UNCERTAIN_QUANTILE))) / 2.0
        t1 = max(t1_lo, min(midway, top + UNCERTAIN_CEILING * s))
        t2 = max(t2_lo, t1 + FAIL_ABOVE_UNCERTAIN * s, min(float(np.quantile(d, FAIL_QUANTILE)), top + FAIL_CEILING * s))
    else:
        t1 = max(t1_lo, top + UNCERTAIN_PLAIN * s)
        t2 = max(t2_lo, t1 + FAIL_ABOVE_UNCERTAIN * s, top + FAIL_PLAIN * s)
    return Placement(t1, t2, mean, std, top, s)


def outcome(scores: Sequence[float], reasons: Sequence[str], t_uncertain: float, t_fail: float) -> tuple[int, int, int]:
    """(fail, uncertain, pass) counts of scores as the line would judge them: a check's reason fails a frame."""
    fail = uncertain = 0
    for i, score in enumerate(scores):
        if (i < len(reasons) and reasons[i]) or not math.isfinite(score) or score >= t_fail:
            fail += 1
        elif score >= t_uncertain:
            uncertain += 1
    return fail, uncertain, len(scores) - fail - uncertain
