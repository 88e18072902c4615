"""Detector behaviour on real texture images: references, prediction, maps, batching, ROI."""

import numpy as np
import pytest

from engine import Detector, ReferenceSet
from engine.errors import ReferenceSetError
from tests.engine_images import brick_crops, with_defect

METHODS = ["knn", "resad", "resad+knn"]


@pytest.fixture(scope="module", params=METHODS)
def detector(request):
    return Detector.load(method=request.param, device="cpu", input_size=128)


@pytest.fixture(scope="module")
def crops():
    return brick_crops(7, seed=3)


@pytest.fixture(scope="module")
def refs(detector, crops):
    return detector.build_references(crops[:4])


def test_defect_scores_above_the_clean_image_and_the_map_peaks_inside_it(detector, refs, crops):
    clean = crops[5]
    defective, mask = with_defect(clean)
    p_clean = detector.predict(clean, refs)
    p_bad = detector.predict(defective, refs)
    assert p_bad.score > p_clean.score
    peak = np.unravel_index(np.argmax(p_bad.anomaly_map), p_bad.anomaly_map.shape)
    ys, xs = np.nonzero(mask)
    margin = 8  # the map is smoothed with sigma 4 input pixels
    assert ys.min() - margin <= peak[0] <= ys.max() + margin
    assert xs.min() - margin <= peak[1] <= xs.max() + margin
    assert p_bad.anomaly_map[mask].mean() > p_bad.anomaly_map[~mask].mean()


def test_map_comes_back_at_the_original_size_for_non_square_images(detector, refs, crops):
    image = np.concatenate([crops[4], crops[5]], axis=1)[:150]  # 150 x 384
    pred = detector.predict(image, refs)
    assert pred.anomaly_map.shape == (150, 384)
    assert pred.anomaly_map.dtype == np.float32
    assert {"preprocess", "backbone", "nn_search", "flows", "postprocess", "total"} <= set(pred.timings)


def test_batch_prediction_matches_single_frames(detector, refs, crops):
    frames = [crops[4], with_defect(crops[5])[0], crops[6], with_defect(crops[4])[0], crops[5], crops[6][:160]]
    single = [detector.predict(f, refs) for f in frames]
    batch = detector.predict_batch(frames, refs)  # on the CPU: mini-batches of 4, and a frame of its own size
    assert [p.score for p in batch] == pytest.approx([p.score for p in single], rel=1e-4, abs=1e-4)
    for b, s in zip(batch, single):
        assert b.anomaly_map.shape == s.anomaly_map.shape
        assert np.allclose(b.anomaly_map, s.anomaly_map, rtol=1e-4, atol=1e-4)


def test_roi_limits_the_map_to_the_region(detector, crops):
    roi = (16, 24, 128, 128)
    refs = detector.build_references(crops[:3], roi=roi)
    defective, _ = with_defect(crops[5], box=(40, 50, 30, 30))
    pred = detector.predict(defective, refs, roi=roi)
    assert pred.anomaly_map.shape == defective.shape[:2]
    outside = np.ones(defective.shape[:2], bool)
    outside[24:152, 16:144] = False
    assert np.ptp(pred.anomaly_map[outside]) == 0.0  # nothing is claimed outside the ROI
    assert pred.anomaly_map[24:152, 16:144].max() > pred.anomaly_map[outside].max()


def test_reference_set_round_trip_gives_the_same_scores(detector, refs, crops):
    blob = refs.to_bytes()
    again = ReferenceSet.from_bytes(blob)
    assert (again.k, again.input_size, again.backbone) == (refs.k, refs.input_size, refs.backbone)
    assert detector.predict(crops[5], again).score == pytest.approx(detector.predict(crops[5], refs).score)


def test_a_modified_reference_blob_is_refused(refs):
    blob = bytearray(refs.to_bytes())
    blob[-10] ^= 0xFF
    with pytest.raises(ReferenceSetError, match="hash"):
        ReferenceSet.from_bytes(bytes(blob))
    with pytest.raises(ReferenceSetError, match="safetensors"):
        ReferenceSet.from_bytes(b"not a reference set at all")


def test_references_of_another_input_size_are_refused(refs, crops):
    other = Detector.load(method="knn", device="cpu", input_size=160)
    with pytest.raises(ReferenceSetError, match="input size 128"):
        other.predict(crops[5], refs)


def test_references_from_before_the_resize_filter_changed_are_refused(detector, refs, crops):
    """A blob written by an engine that named no preprocessing used INTER_AREA resizing: its
    features do not match this engine's frames, so it is refused, naming both filters."""
    import json

    from safetensors.torch import load as st_load
    from safetensors.torch import save as st_save

    from engine.preprocess import LEGACY_PREPROCESS_ID, PREPROCESS_ID

    blob = refs.to_bytes()
    assert ReferenceSet.from_bytes(blob).preprocess == PREPROCESS_ID
    meta = json.loads(blob[8 : 8 + int.from_bytes(blob[:8], "little")])["__metadata__"]
    del meta["preprocess"]
    legacy = ReferenceSet.from_bytes(st_save(st_load(blob), metadata=meta))
    assert legacy.preprocess == LEGACY_PREPROCESS_ID
    with pytest.raises(ReferenceSetError, match="inter-area.*bilinear-antialias"):
        detector.predict(crops[5], legacy)


def test_leave_one_out_scores_are_one_per_shot_and_finite(detector, refs):
    scores = detector.leave_one_out_scores(refs)
    assert len(scores) == refs.k
    assert np.isfinite(scores).all()


def test_a_single_reference_image_is_not_enough(detector, crops):
    with pytest.raises(ReferenceSetError, match="at least 2"):
        detector.build_references(crops[:1])


def test_the_combined_method_is_the_sum_of_the_two_maps(crops):
    """resad+knn adds the two standardised maps: its map is their sum at every pixel, its score the
    max of that sum, and its calibration scores come from the same leave-one-out pass."""
    det = Detector.load(method="resad+knn", device="cpu", input_size=128)
    refs = det.build_references(crops[:4])
    defective, _ = with_defect(crops[5])
    both = det.predict_all(defective, refs)
    assert set(both) == {"resad", "knn", "resad+knn"}
    summed = both["resad"].anomaly_map + both["knn"].anomaly_map
    assert np.allclose(both["resad+knn"].anomaly_map, summed, atol=1e-4)
    assert det.predict(defective, refs).score == pytest.approx(both["resad+knn"].score, abs=1e-5)
    assert both["resad+knn"].score > max(both["resad"].score, both["knn"].score)  # both peak on the defect
    assert len(det.leave_one_out_scores(refs)) == refs.k
    assert det.score_id.startswith("resad+knn:")


def test_profiles_and_the_command_line_offer_the_engine_s_choices():
    from engine.nn_search import SEARCH_MODES
    from engine.part_align import ALIGN_MODES
    from engine.reference_augment import AUGMENTS
    from engine.search_choice import SEARCH_NAMES as ENGINE_SEARCHES
    from resad_station.profiles.model import ALIGN_NAMES, AUGMENT_NAMES, SEARCH_NAMES

    assert SEARCH_NAMES == ENGINE_SEARCHES and set(SEARCH_MODES) < set(ENGINE_SEARCHES)
    assert AUGMENT_NAMES == AUGMENTS and ALIGN_NAMES == ALIGN_MODES


def test_the_combined_method_needs_the_heads():
    from engine.errors import EngineError
    from resad_station.profiles.model import METHOD_NAMES

    from engine.detector import METHOD_CHOICES as ENGINE_METHODS

    assert tuple(METHOD_NAMES) == ENGINE_METHODS  # profile validation and CLI choices follow the engine
    with pytest.raises(EngineError, match="resad\\+knn.*head weights"):
        Detector(None, method="resad+knn", device="cpu")
