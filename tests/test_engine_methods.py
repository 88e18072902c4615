"""Engine methods: one registry; a new method is one file, scored from the same pass as the others."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from engine import METHODS, Detector, EngineError
from engine.methods import METHOD_TERMS, needs_heads, register_method, terms_of, unregister_method
from tests.engine_images import brick_crops, with_defect


def test_the_shipped_methods_are_the_registry():
    assert METHODS == ("resad", "knn", "resad+knn") and tuple(METHOD_TERMS) == METHODS
    assert [needs_heads(m) for m in METHODS] == [True, False, True]
    assert terms_of(["resad+knn"]) == terms_of(["knn", "resad"]) == ("knn", "resad")
    with pytest.raises(ValueError, match="registered terms"):
        register_method("bad", ("no-such-term",))
    with pytest.raises(ValueError, match="registered twice"):
        register_method("knn", ("resad",))


@pytest.fixture
def l1_method():
    module = importlib.import_module("tests.example_engine_method")
    module.register()
    yield module.NAME
    unregister_method(module.NAME)


def test_a_new_method_is_one_file_and_scores_from_the_same_pass(l1_method):
    crops = brick_crops(6, seed=5)
    det = Detector(None, method=l1_method, device="cpu", input_size=128)
    refs = det.build_references(crops[:4])
    clean, (defective, mask) = crops[5], with_defect(crops[5])
    p_clean, p_bad = det.predict(clean, refs), det.predict(defective, refs)
    assert p_bad.score > p_clean.score
    assert p_bad.anomaly_map[mask].mean() > p_bad.anomaly_map[~mask].mean()
    both = det.predict_methods([defective], refs, ["knn", l1_method])[0]
    assert both[l1_method].score == pytest.approx(p_bad.score, rel=1e-5)
    assert not np.allclose(both["knn"].anomaly_map, both[l1_method].anomaly_map)
    assert len(det.leave_one_out_scores(refs)) == refs.k and det.score_id.startswith("l1/")


def test_an_unregistered_method_is_refused():
    assert "l1" not in METHOD_TERMS
    with pytest.raises(EngineError, match="method: expected one of"):
        Detector(None, method="l1", device="cpu")
