"""engine.method auto: the self-test chooses per reference set, and older calibrations still load."""

from __future__ import annotations

import numpy as np
import pytest
from station_helpers import REFERENCE_FILES, load_rgb

from engine import Detector, self_test
from engine.detector import METHODS
from engine.errors import ReferenceSetError
from engine.thresholds import UNCERTAIN_QUANTILE
from resad_station.enrollment.calibration import Calibration


@pytest.fixture(scope="module")
def auto():
    det = Detector.load(method="auto", device="cpu", input_size=128)
    shots = [load_rgb(p) for p in REFERENCE_FILES[:3]]
    return det, shots, det.build_references(shots)


def test_auto_chooses_a_method_from_the_shots_and_scores_with_it(auto):
    det, shots, refs = auto
    assert det.method_for(refs) == "resad+knn"  # nothing chosen yet: the fallback
    test = self_test.run(det, shots, refs)
    assert test.chosen and set(test.reports) == set(METHODS) and refs.method == test.method
    best = max(test.reports.values(), key=self_test.MethodReport.key)
    assert test.method == best.scores.method  # the best separation wins
    assert det.method_for(refs) == test.method
    fixed = Detector.load(method=test.method, device="cpu", input_size=128)
    assert det.score_id_for(refs) == fixed.score_id  # thresholds of that method apply unchanged
    frame = load_rgb(REFERENCE_FILES[5])
    assert det.predict(frame, refs).score == pytest.approx(fixed.predict(frame, refs).score, rel=1e-5)
    numbers = test.to_dict()
    assert numbers["method"] == test.method and set(numbers["methods"]) == set(METHODS)
    assert all(r["synthetic_n"] == 3 * self_test.SYNTHETIC_PER_SHOT for r in numbers["methods"].values())


def test_margin_measures_the_weakest_synthetic_defects(auto):
    """margin: the 5 % quantile of the synthetic scores over the largest good one, in good spreads;
    never above gap (the median's), and recorded beside it."""
    det, shots, refs = auto
    test = self_test.run(det, shots, refs)
    for method, r in test.reports.items():
        syn = np.asarray(r.scores.synthetic)
        expected = (np.quantile(syn, UNCERTAIN_QUANTILE) - r.placement.max) / r.placement.spread
        assert r.margin == pytest.approx(expected) and r.margin <= r.gap, method
        assert test.to_dict()["methods"][method]["margin"] == pytest.approx(r.margin)
        assert r.key() == tuple(getattr(r, name) for name in self_test.CHOICE_ORDER)


def test_choose_method_compares_in_order_and_ranks_nan_last():
    assert self_test.choose_method({"a": (0.9, 0.8), "b": (0.9, 0.95), "c": (0.5, 1.0)}) == "b"
    assert self_test.choose_method({"a": (float("nan"), 1.0), "b": (0.1, 0.0)}) == "b"
    with pytest.raises(ReferenceSetError):
        self_test.choose_method({})


def test_the_same_shots_give_the_same_choice(auto):
    det, shots, refs = auto
    again = self_test.run(det, shots, det.build_references(shots))
    first = self_test.run(det, shots, refs)
    assert again.method == first.method and again.best.scores.synthetic == pytest.approx(first.best.scores.synthetic)


def test_a_calibration_stored_before_the_self_test_loads_as_it_was():
    old = {"mean": 1.0, "std": 0.1, "max": 1.2, "t_uncertain": 1.3, "t_fail": 1.6, "shot_scores": [1.0, 1.2],
           "validation_scores": [], "rule": "t_uncertain = max + 0.5 spread; t_fail = max + 3.0 spread",
           "score_id": "resad:abc/grid4", "method": "resad", "shot_names": ["a", "b"]}
    cal = Calibration.from_dict(old)
    assert (cal.t_uncertain, cal.t_fail, cal.rule) == (1.3, 1.6, old["rule"])
    assert cal.synthetic_scores == [] and cal.self_test == {}
