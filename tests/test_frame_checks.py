"""Missing, blank and wrong parts fail; every good board still passes (the shipped DeepPCB demo boards).

The product: the demo line's board (profiles/demo, DeepPCB crops, MIT). Enrolled as a user would:
the first 4 reference boards as shots, the other 4 as validation, default quality checks and
thresholds; once with kNN at 256 px (the demo's size) and once as a new product's profile has it
(method auto, the default input size and alignment). Then frames that the patch score alone lets through (each of their patches finds a
look-alike among the references) must FAIL, and every good line board must PASS.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import skimage.data
import torch
from station_helpers import LINE_FILES, REFERENCE_FILES, load_rgb

from engine import Detector, coverage
from engine.preprocess import prepare as prepare_input
from resad_station.enrollment.enroll import prepare, shots_from
from resad_station.enrollment.quality import Shot, check_shots
from resad_station.profiles.model import DEFAULT_ALIGN, DEFAULT_INPUT_SIZE
from resad_station.runtime.events import Verdict
from resad_station.runtime.verdict import Thresholds, judge

GOOD_LINE = [p for p in LINE_FILES if "_good_" in p.name]


@pytest.fixture(scope="module", params=[("knn", 256), ("auto", DEFAULT_INPUT_SIZE)], ids=lambda p: f"{p[0]}@{p[1]}")
def enrolled(request):
    method, size = request.param
    det = Detector.load(method=method, device="cpu", input_size=size, align=DEFAULT_ALIGN if method == "auto" else "none")
    shots, _ = shots_from(REFERENCE_FILES[:4])
    validation, _ = shots_from(REFERENCE_FILES[4:])
    draft = prepare(det, "board", shots, validation=validation)
    cal = draft.calibration
    return det, draft.refs, Thresholds(cal.t_uncertain, cal.t_fail), cal


def _board() -> np.ndarray:
    return load_rgb(REFERENCE_FILES[0])


def _part_removed() -> np.ndarray:
    """The board with the components of its central quarter removed: bare substrate there."""
    board = _board().copy()
    h, w = board.shape[:2]
    substrate = np.median(board.reshape(-1, 3), axis=0).astype(np.uint8)
    board[h // 4:3 * h // 4, w // 4:3 * w // 4] = substrate
    return board


def _other_product() -> np.ndarray:
    """Another product in front of the camera: a real photo (scikit-image's coffee cup), board-sized."""
    board = _board()
    return cv2.resize(skimage.data.coffee(), (board.shape[1], board.shape[0]), interpolation=cv2.INTER_AREA)


WRONG_FRAMES = {
    "all black": lambda: np.zeros_like(_board()),
    "all grey": lambda: np.full_like(_board(), 128),
    "all white": lambda: np.full_like(_board(), 255),
    "part removed": _part_removed,
    "different product": _other_product,
}


@pytest.mark.parametrize("what", sorted(WRONG_FRAMES))
def test_blank_missing_and_wrong_frames_fail_with_a_reason(enrolled, what):
    det, refs, thresholds, _ = enrolled
    pred = det.predict(WRONG_FRAMES[what](), refs)
    assert pred.reason in ("part missing", "unlike the references", "blank frame"), (what, pred.checks)
    assert max(pred.checks.values()) >= 1.0
    assert judge(pred.score, pred.reason, thresholds) is Verdict.FAIL


def test_every_good_board_of_the_line_passes(enrolled):
    det, refs, thresholds, _ = enrolled
    preds = det.predict_batch([load_rgb(p) for p in GOOD_LINE], refs)
    verdicts = {p.name: (judge(pr.score, pr.reason, thresholds), pr.reason, round(pr.score, 3), pr.checks)
                for p, pr in zip(GOOD_LINE, preds)}
    assert len(verdicts) == len(GOOD_LINE) >= 20
    assert all(v[0] is Verdict.PASS for v in verdicts.values()), verdicts
    assert all(max(pr.checks.values()) < 0.9 for pr in preds)  # clear of the limits, not just under them


def test_the_checks_have_limits_from_the_shots_alone(enrolled):
    det, refs, _, _ = enrolled
    limits = det.check_limits(refs)
    assert limits.shape == (2, 2) and bool((limits[:, 0] > limits[:, 1]).all())  # limit above every shot's value
    off = Detector.load(method="knn", device="cpu", input_size=det.input_size, checks=False)
    pred = off.predict(np.zeros_like(_board()), refs)
    assert pred.reason == "" and pred.checks == {}  # switched off: the patch score alone


def _coverage_by_definition(shots, frames, radius):
    """Per frame and shot: each shot position's distance to its nearest frame position at most
    `radius` cells away, position by position, then the mean of the worst COVERAGE_TOP share."""
    K, C, H, W = shots.shape
    out = torch.zeros(frames.shape[0], K)
    for b in range(frames.shape[0]):
        for k in range(K):
            nearest = torch.empty(H * W)
            for y in range(H):
                for x in range(W):
                    window = frames[b, :, max(0, y - radius):y + radius + 1, max(0, x - radius):x + radius + 1]
                    nearest[y * W + x] = (window.reshape(C, -1) - shots[k, :, y, x, None]).norm(dim=0).min()
            top = max(1, math.ceil(coverage.COVERAGE_TOP * H * W))
            out[b, k] = nearest.topk(top).values.mean()
    return out


def test_coverage_is_the_nearest_frame_patch_within_the_radius(enrolled):
    """Both forms of the coverage check (all pairs, unfolded) against its definition, on real boards:
    a good one, the one with its centre removed, and a board grid of another aspect ratio."""
    det, refs, _, _ = enrolled
    level = coverage.CHECK_LEVEL
    shots = torch.stack([m[level].float() for m in refs.maps])
    frames = torch.cat([det._features(det_input(det, img))[level].float()
                        for img in (load_rgb(GOOD_LINE[0]), _part_removed())])
    got = coverage._coverage(shots, frames)
    want = _coverage_by_definition(shots, frames, coverage.COVERAGE_RADIUS)
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-4), (got, want)
    unfolded = coverage._coverage(shots, frames, all_pairs_limit=0)  # the form for large grids
    assert torch.allclose(unfolded, want, rtol=1e-4, atol=1e-4), (unfolded, want)
    assert bool((got[1] > got[0]).all())  # the removed centre is found uncovered in every shot
    wide = torch.nn.functional.interpolate(frames, size=(6, 13), mode="bilinear", align_corners=False)
    shots_wide = torch.nn.functional.interpolate(shots, size=(6, 13), mode="bilinear", align_corners=False)
    assert torch.allclose(coverage._coverage(shots_wide, wide, radius=1),
                          _coverage_by_definition(shots_wide, wide, 1), rtol=1e-4, atol=1e-4)


def det_input(det, image):
    with torch.inference_mode():
        return prepare_input(image, det.input_size).tensor[None]


def test_self_test_reports_good_and_synthetic_defects(enrolled):
    _, _, thresholds, cal = enrolled
    test = cal.self_test
    assert test["summary"].startswith("good (leave-one-out and validation): all pass; synthetic defects: ")
    knn = test["methods"]["knn"]
    assert knn["good_fail"] == knn["good_uncertain"] == 0 and knn["synthetic_n"] == 12
    assert knn["synthetic_fail_pct"] + knn["synthetic_uncertain_pct"] >= 75.0  # the generator's defects are visible
    assert len(cal.synthetic_scores) == 12 and max(cal.scores) < thresholds.t_uncertain < thresholds.t_fail


def _garbled_jpeg(tmp_path) -> str:
    """A board saved as JPEG whose data was cut after a third (then closed with an end-of-image
    marker, as a transfer cut short may leave it): it decodes, the lost part as flat mid grey."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(_board(), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    path = tmp_path / "garbled.jpg"
    path.write_bytes(data.tobytes()[: len(data) // 3] + b"\xff\xd9")
    assert load_rgb(path).shape == _board().shape  # a lenient decoder decodes it
    return str(path)


def _garbled_as_png(tmp_path, garbled: str) -> str:
    """What a lenient decoder made of the cut JPEG, stored losslessly: no decoder complains about
    this file, so only the content check can refuse it."""
    path = tmp_path / "garbled_decoded.png"
    cv2.imwrite(str(path), cv2.cvtColor(load_rgb(garbled), cv2.COLOR_RGB2BGR))
    return str(path)


def test_enrollment_refuses_blank_garbled_and_foreign_shots(tmp_path):
    for name, image in (("black.png", np.zeros_like(_board())), ("grey.png", np.full_like(_board(), 128)),
                        ("cup.png", _other_product())):
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    garbled = _garbled_jpeg(tmp_path)
    files = [*map(str, REFERENCE_FILES[:4]), garbled, _garbled_as_png(tmp_path, garbled),
             *(str(tmp_path / n) for n in ("black.png", "grey.png", "cup.png"))]
    shots, rejects = shots_from(files)
    report = check_shots(shots)
    why = {r.name.rsplit("/", 1)[-1]: r.reason for r in rejects + report.rejects}
    assert "blank or near-uniform" in why["black.png"] and "blank or near-uniform" in why["grey.png"]
    assert "corrupt JPEG data" in why["garbled.jpg"]  # the station's decoder hears libjpeg's complaint
    assert "flat grey" in why["garbled_decoded.png"] and "garbled" in why["garbled_decoded.png"]
    assert "far from the other shots" in why["cup.png"]
    assert [s.name for s in report.accepted] == [str(p) for p in REFERENCE_FILES[:4]]


def test_a_blank_shot_among_two_is_refused_on_its_own():
    report = check_shots([Shot("board", _board()), Shot("cap", np.full_like(_board(), 3))])
    assert [r.name for r in report.rejects] == ["cap"] and "blank" in report.rejects[0].reason


def test_shots_given_twice_keep_limits_and_still_fail_a_blank_frame():
    # the engine API does not reject duplicates as enrollment does; every shot having a twin made
    # the checks' limits 0 (a ZeroDivisionError in every prediction, the self-test's included)
    det = Detector.load(method="knn", device="cpu", input_size=256)
    a, b = load_rgb(REFERENCE_FILES[0]), load_rgb(REFERENCE_FILES[1])
    refs = det.build_references([a, a.copy(), b, b.copy()])
    limits = det.check_limits(refs)
    assert bool((limits[:, 0] > 0).all()) and bool(torch.isfinite(limits).all())
    assert torch.allclose(limits, det.check_limits(det.build_references([a, b])))  # the distinct shots' limits
    good, blank = det.predict_batch([load_rgb(REFERENCE_FILES[2]), np.zeros_like(a)], refs)
    assert math.isfinite(good.score) and good.reason == ""
    assert blank.reason in ("part missing", "unlike the references", "blank frame")
    loo = det.predict_methods([a], refs, ["knn"], exclude=0)[0]["knn"]  # the self-test's leave-one-out call
    assert math.isfinite(loo.score)


def test_a_zero_limit_fails_anything_above_it():
    assert coverage.ratio(0.0, 0.0) == 0.0 and coverage.ratio(1e-3, 0.0) == math.inf
    assert coverage.ratio(1.0, 2.0) == 0.5


def test_validation_images_widen_the_global_limit_only_and_blank_frames_still_fail():
    # shots in near-twin pairs (a board photographed twice) see small leave-one-out distances: the
    # limits they give alone fail good boards; enrollment's validation images widen the global one
    det = Detector.load(method="knn", device="cpu", input_size=256)
    rng = np.random.default_rng(0)
    twin = lambda img: np.clip(img.astype(np.int16) + rng.integers(-2, 3, img.shape), 0, 255).astype(np.uint8)  # noqa: E731
    a, b = load_rgb(REFERENCE_FILES[0]), load_rgb(REFERENCE_FILES[1])
    refs = det.build_references([a, twin(a), b, twin(b)])
    validation = [load_rgb(p) for p in REFERENCE_FILES[4:]]
    alone = det.check_limits(refs).clone()
    assert any(p.reason for p in det.predict_batch(validation, refs))  # the twins' limits fail good boards
    widened = det.widen_check_limits(refs, validation)
    assert torch.equal(widened[0], alone[0])  # coverage: a missing part must still show
    assert widened[1, 0] > alone[1, 0]
    preds = det.predict_batch(validation + [f() for f in WRONG_FRAMES.values()], refs)
    assert all(p.checks["global"] < 1.0 for p in preds[:len(validation)])
    assert all(p.reason for p in preds[len(validation):]), [(k, p.checks) for k, p in zip(WRONG_FRAMES, preds[len(validation):])]
    same = det.widen_check_limits(refs, [a, b])  # good images as close as the shots: never a tighter limit
    assert torch.equal(same[:, 0], alone[:, 0])


def test_enrollment_places_the_checks_on_its_validation_images_too(enrolled):
    det, refs, _, _ = enrolled
    shots_only = coverage.limits([m[coverage.CHECK_LEVEL] for m in refs.maps])
    kept = det.check_limits(refs).clone()  # what the stored reference set holds
    validation = [load_rgb(p) for p in REFERENCE_FILES[4:]]
    assert torch.equal(kept, det.widen_check_limits(refs, validation))  # placed on the validation images
    assert torch.equal(kept[0], shots_only[0]) and kept[1, 0] >= shots_only[1, 0]
    assert all(p.checks["global"] < 1.0 for p in det.predict_batch(validation, refs))


def test_blank_frames_fail_as_blank_and_a_faint_real_board_does_not(enrolled):
    # a sparse DeepPCB board among the shots let a white frame pass both feature checks: the blank
    # check judges the pixels alone (enrollment refuses blank shots, so no good part looks like one)
    det, refs, _, _ = enrolled
    rng = np.random.default_rng(0)
    lens_cap = np.clip(10 + rng.normal(0, 2.0, (1080, 1920, 3)), 0, 255).astype(np.uint8)  # dark, sensor noise
    board = _board().astype(np.float32)
    faint = np.clip((board - board.mean()) * (4.0 / board.std()) + 128, 0, 255).astype(np.uint8)  # grey std ~4
    frames = [np.zeros_like(_board()), np.full_like(_board(), 128), np.full_like(_board(), 255), lens_cap, faint]
    preds = det.predict_batch(frames, refs)
    assert [p.reason for p in preds[:4]] == ["blank frame"] * 4, [p.checks for p in preds]
    assert preds[4].checks["blank"] < 0.5
    goods = det.predict_batch([load_rgb(p) for p in GOOD_LINE[:8]], refs)
    assert all(p.checks["blank"] < 0.1 for p in goods)
