"""Calibration: good-score statistics and the thresholds of a reference set.

Input: scores of images known to be good, scored as the line will score them: leave-one-out
scores of the K shots (each shot against a reference set built from the other K-1) plus the
scores of any extra validation images against the full set; and, from the enrollment's
self-test (engine/self_test.py), the scores of synthetic defects pasted on the shots.

Where the thresholds go is the engine's rule (engine/thresholds.py): above every good score, under
a stated false-alarm budget, and where the synthetic defects start. A calibration stored by an
earlier version (no synthetic scores) loads as it was: its thresholds are kept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from engine.thresholds import RULE, ThresholdRuleError, place


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
    rule: str = RULE
    score_id: str = ""  # what produced the scores (Detector.score_id): another one needs new thresholds
    synthetic_scores: list[float] = field(default_factory=list)  # synthetic defects on the shots, leave-one-out
    self_test: dict[str, Any] = field(default_factory=dict)  # engine SelfTest.to_dict(): per method, the numbers

    @property
    def scores(self) -> list[float]:
        return list(self.shot_scores) + list(self.validation_scores)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Calibration":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def calibrate(shot_scores: Sequence[float], validation_scores: Sequence[float] = (),
              synthetic_scores: Sequence[float] = ()) -> Calibration:
    shots = [float(s) for s in shot_scores]
    validation = [float(s) for s in validation_scores]
    synthetic = [float(s) for s in synthetic_scores]
    try:
        p = place(shots + validation, synthetic)
    except ThresholdRuleError as exc:
        raise CalibrationError(f"calibration: {exc}") from exc
    return Calibration(mean=p.mean, std=p.std, max=p.max, t_uncertain=p.t_uncertain, t_fail=p.t_fail,
                       shot_scores=shots, validation_scores=validation, synthetic_scores=synthetic)
