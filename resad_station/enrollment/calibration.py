"""Calibration: good-score statistics and default thresholds of a reference set.

Input: scores of images known to be good, scored as the line will score them: leave-one-out
scores of the K shots (each shot against a reference set built from the other K-1) plus the
scores of any extra validation images against the full set.

The rule (scores have no fixed scale, so everything is relative to the good scores):

    spread      = max(std of good scores, 5% of |max good|, 1e-6)
    t_uncertain = max good + UNCERTAIN_MARGIN * spread
    t_fail      = max good + FAIL_MARGIN * spread

so every good image seen scores below T1 (pass), a frame a little beyond anything good seen
goes to review (uncertain), and only a clear outlier fails. The 5% floor keeps the band open
when the few good scores happen to agree closely (std near 0 with K = 2..4 shots).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

UNCERTAIN_MARGIN = 0.5
FAIL_MARGIN = 3.0
RELATIVE_SPREAD_FLOOR = 0.05


class CalibrationError(ValueError):
    """Good scores that cannot be calibrated on (none, or not finite)."""


@dataclass(frozen=True)
class Calibration:
    mean: float
    std: float
    max: float
    t_uncertain: float
    t_fail: float
    shot_scores: list[float] = field(default_factory=list)  # leave-one-out, one per shot
    validation_scores: list[float] = field(default_factory=list)
    rule: str = f"t_uncertain = max + {UNCERTAIN_MARGIN} spread; t_fail = max + {FAIL_MARGIN} spread"
    score_id: str = ""  # what produced the scores (Detector.score_id): another one needs new thresholds

    @property
    def scores(self) -> list[float]:
        return list(self.shot_scores) + list(self.validation_scores)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Calibration":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def calibrate(shot_scores: Sequence[float], validation_scores: Sequence[float] = ()) -> Calibration:
    shots = [float(s) for s in shot_scores]
    validation = [float(s) for s in validation_scores]
    scores = np.array(shots + validation, dtype=np.float64)
    if scores.size == 0:
        raise CalibrationError("calibration needs at least one good score (K >= 2 shots or validation images)")
    bad = [s for s in scores.tolist() if not math.isfinite(s)]
    if bad:
        raise CalibrationError(f"calibration got non-finite good scores: {bad}")
    mean = float(scores.mean())
    std = float(scores.std(ddof=1)) if scores.size > 1 else 0.0
    top = float(scores.max())
    spread = max(std, RELATIVE_SPREAD_FLOOR * abs(top), 1e-6)
    return Calibration(
        mean=mean,
        std=std,
        max=top,
        t_uncertain=top + UNCERTAIN_MARGIN * spread,
        t_fail=top + FAIL_MARGIN * spread,
        shot_scores=shots,
        validation_scores=validation,
    )
