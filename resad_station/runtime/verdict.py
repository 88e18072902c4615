"""Verdict policy: one score -> pass / uncertain / fail, against two thresholds T1 < T2.

    score <  t_uncertain            -> PASS
    t_uncertain <= score < t_fail   -> UNCERTAIN (goes to review)
    score >= t_fail                 -> FAIL

A NaN score is never a pass: it is a FAIL, so a broken frame cannot slip through silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from resad_station.runtime.events import Verdict


class ThresholdError(ValueError):
    """Thresholds that cannot form a verdict policy."""


@dataclass(frozen=True)
class Thresholds:
    t_uncertain: float
    t_fail: float

    def __post_init__(self) -> None:
        for name in ("t_uncertain", "t_fail"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ThresholdError(f"thresholds.{name} must be a finite number, got {value!r}")
        if self.t_uncertain > self.t_fail:
            raise ThresholdError(
                f"thresholds: t_uncertain ({self.t_uncertain}) must be <= t_fail ({self.t_fail})"
            )


def classify(score: float, thresholds: Thresholds) -> Verdict:
    if not math.isfinite(score) or score >= thresholds.t_fail:
        return Verdict.FAIL
    if score >= thresholds.t_uncertain:
        return Verdict.UNCERTAIN
    return Verdict.PASS


def judge(score: float, reason: str, thresholds: Thresholds) -> Verdict:
    """The line's verdict: a whole-frame check's reason (the engine's "part missing", "unlike the
    references") fails the frame whatever its score; otherwise the score against T1/T2."""
    return Verdict.FAIL if reason else classify(score, thresholds)
