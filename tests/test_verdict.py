"""Verdict policy table and threshold validation."""

import math

import pytest

from resad_station.runtime.events import Verdict
from resad_station.runtime.verdict import ThresholdError, Thresholds, classify

T = Thresholds(t_uncertain=1.0, t_fail=2.0)


@pytest.mark.parametrize(
    "score, expected",
    [
        (-5.0, Verdict.PASS),
        (0.0, Verdict.PASS),
        (0.999, Verdict.PASS),
        (1.0, Verdict.UNCERTAIN),  # T1 itself is already uncertain
        (1.5, Verdict.UNCERTAIN),
        (1.999, Verdict.UNCERTAIN),
        (2.0, Verdict.FAIL),  # T2 itself fails
        (100.0, Verdict.FAIL),
        (math.inf, Verdict.FAIL),
        (math.nan, Verdict.FAIL),  # a broken score is never a pass
    ],
)
def test_verdict_table(score, expected):
    assert classify(score, T) is expected


def test_equal_thresholds_have_no_uncertain_band():
    t = Thresholds(1.0, 1.0)
    assert classify(0.99, t) is Verdict.PASS
    assert classify(1.0, t) is Verdict.FAIL


@pytest.mark.parametrize("t1, t2", [(2.0, 1.0), (math.nan, 1.0), (0.0, math.inf)])
def test_bad_thresholds_are_refused_with_the_field_named(t1, t2):
    with pytest.raises(ThresholdError, match="t_uncertain|t_fail"):
        Thresholds(t1, t2)
