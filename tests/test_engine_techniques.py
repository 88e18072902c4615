"""The few-shot techniques a profile can switch on: image score rule, locally aware features and
reference augmentation (real brick crops, kNN, so no trained weights are needed)."""

import numpy as np
import pytest
import torch

from engine import Detector, EngineError, ReferenceSet
from engine.image_score import image_score
from engine.local_features import local_average
from engine.reference_augment import extra_views
from tests.engine_images import brick_crops, with_defect


@pytest.fixture(scope="module")
def crops():
    return brick_crops(6, size=128, seed=3)


def test_top_percent_score_is_the_mean_of_the_highest_cells():
    m = np.arange(200, dtype=np.float32).reshape(10, 20)
    assert image_score(m, "max") == 199.0
    assert image_score(m, "top1") == pytest.approx(np.mean([198, 199]))
    assert image_score(m, "top100") == pytest.approx(m.mean())
    with pytest.raises(EngineError, match="topP"):
        Detector.load(method="knn", device="cpu", image_score="top0")


def test_local_average_is_the_3x3_mean_inside_and_keeps_shapes():
    f = torch.arange(2 * 5 * 6, dtype=torch.float32).reshape(1, 2, 5, 6)
    out = local_average([f])[0]
    assert out.shape == f.shape
    assert out[0, 1, 2, 3] == pytest.approx(float(f[0, 1, 1:4, 2:5].mean()))
    assert out[0, 0, 0, 0] == pytest.approx(float(f[0, 0, :2, :2].mean()))  # the border averages what exists


def test_views_are_turned_and_shifted_copies():
    img = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    assert [v.shape for v in extra_views(img, "rotations")] == [(6, 4, 3), (4, 6, 3), (6, 4, 3)]
    assert len(extra_views(img, "dihedral")) == 7 and extra_views(img, "none") == []
    assert np.array_equal(extra_views(img, "flips")[0], img[:, ::-1])


def test_augmented_references_keep_views_apart_in_leave_one_out_and_round_trip(crops):
    det = Detector.load(method="knn", device="cpu", input_size=128, augment="rotations")
    refs = det.build_references(crops[:3])
    assert refs.k == 3 and [i for i, _ in refs.views] == [0] * 3 + [1] * 3 + [2] * 3
    # leave-one-out of shot 0 searches the 2 other shots and their 6 views, none of shot 0's
    assert refs.pools("cpu", exclude=0)[0].k == 8
    plain = Detector.load(method="knn", device="cpu", input_size=128)
    # a rotated frame finds its match in a view: it scores lower than without augmentation
    turned = np.rot90(crops[0]).copy()
    assert det.predict(turned, refs).score < plain.predict(turned, plain.build_references(crops[:3])).score + 1e-6
    again = ReferenceSet.from_bytes(refs.to_bytes())
    assert [i for i, _ in again.views] == [i for i, _ in refs.views]
    assert det.predict(crops[4], again).score == pytest.approx(det.predict(crops[4], refs).score, rel=1e-5)


@pytest.mark.parametrize("options", [{"local_features": True}, {"image_score": "top1"}, {"augment": "flips"}])
def test_each_technique_still_finds_the_defect(crops, options):
    det = Detector.load(method="knn", device="cpu", input_size=128, **options)
    refs = det.build_references(crops[:4])
    bad, _ = with_defect(crops[4], box=(40, 50, 30, 26))
    assert det.predict(bad, refs).score > det.predict(crops[5], refs).score
    assert det.score_id != Detector.load(method="knn", device="cpu", input_size=128).score_id
