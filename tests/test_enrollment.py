"""Enrollment on real demo boards with the real engine (k-NN) and real SQLite: checks,
calibration, versions, reactivation, teach-as-good, audit trail."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from station_helpers import LINE_FILES, REFERENCE_FILES, load_rgb

from engine import Detector, ReferenceSet
from resad_station.enrollment.calibration import CalibrationError, calibrate
from resad_station.enrollment.enroll import EnrollmentError, activate_version, enroll, prepare, save, shots_from
from resad_station.enrollment.quality import Shot, check_shots
from resad_station.enrollment.teach import teach_as_good
from resad_station.runtime.events import FrameResult, Verdict
from resad_station.runtime.recorder import Recorder
from resad_station.runtime.storage_sink import DatabaseSink
from resad_station.storage import repository as repo


@pytest.fixture(scope="module")
def detector():
    return Detector.load(method="knn", device="cpu", input_size=128)


@pytest.fixture
def bad_files(tmp_path):
    """A blurred, a near-duplicate, a tiny and a corrupt image file, next to good ones."""
    good = load_rgb(REFERENCE_FILES[0])
    files = {}
    files["blurred"] = tmp_path / "blurred.png"
    cv2.imwrite(str(files["blurred"]), cv2.GaussianBlur(cv2.imread(str(REFERENCE_FILES[1])), (0, 0), 3))
    noisy = np.clip(good.astype(int) + np.random.default_rng(0).integers(-6, 7, good.shape), 0, 255).astype(np.uint8)
    files["duplicate"] = tmp_path / "duplicate.png"
    cv2.imwrite(str(files["duplicate"]), cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR))
    files["tiny"] = tmp_path / "tiny.png"
    cv2.imwrite(str(files["tiny"]), cv2.imread(str(REFERENCE_FILES[2]))[:40, :40])
    files["corrupt"] = tmp_path / "corrupt.png"
    files["corrupt"].write_bytes(b"\x89PNG\r\n\x1a\n this is not really a PNG")
    return files


def test_rejections_name_the_image_and_the_reason(bad_files):
    items = [REFERENCE_FILES[0], bad_files["duplicate"], REFERENCE_FILES[1], bad_files["blurred"],
             REFERENCE_FILES[2], bad_files["tiny"], bad_files["corrupt"], REFERENCE_FILES[3]]
    shots, rejects = shots_from(items)
    report = check_shots(shots)
    reasons = {r.name: r.reason for r in rejects + report.rejects}
    assert [s.name for s in report.accepted] == [str(p) for p in REFERENCE_FILES[:4]]
    assert reasons[str(bad_files["corrupt"])].startswith("does not decode")
    assert reasons[str(bad_files["tiny"])].startswith("too small: 40x40 px")
    assert reasons[str(bad_files["blurred"])].startswith("blurred")
    assert reasons[str(bad_files["duplicate"])] == f"near-duplicate of {REFERENCE_FILES[0]}"
    assert len(reasons) == 4


def test_all_shipped_reference_boards_pass_the_checks():
    # Sparse and dense board regions differ 25x in raw Laplacian variance; none may count as blurred.
    report = check_shots([Shot(str(p), load_rgb(p)) for p in REFERENCE_FILES])
    assert report.rejects == [] and len(report.accepted) == len(REFERENCE_FILES)


def test_frames_with_wrong_shape_are_rejected_not_crashed():
    grey = np.zeros((100, 100), np.uint8)
    report = check_shots([Shot("frame 0", grey), Shot("frame 1", load_rgb(REFERENCE_FILES[0]))])
    assert report.rejects[0].name == "frame 0" and "HxWx3" in report.rejects[0].reason


@pytest.mark.parametrize(
    "shots, validation, synthetic, t1, t2",
    [
        ([1.0, 2.0, 3.0], [], [], 2.0 + 1.645, 6.0),  # std 1 -> spread 1; the 5 % budget is above max + 0.5
        ([4.0, 4.0], [], [], 4.1, 4.6),  # std 0 -> 5% of max = 0.2: the ceilings max + 0.5 s, max + 3 s
        ([1.0, 1.0], [3.0], [], 3.0 + 0.5 * 1.1547, 3.0 + 3 * 1.1547),  # validation counts
        ([10.0, 10.0], [], [10.15] * 10, 10.075, 10.5),  # synthetic defects just above: T1 midway, T2 at its floor
        ([10.0, 10.0], [], [12.0] * 10, 11.0, 12.0),  # above: T1 midway, T2 at their 10 % quantile
        ([10.0, 10.0], [], [20.0] * 10, 11.5, 13.0),  # far above: the ceilings max + 3 s, max + 6 s
        ([10.0, 10.0], [], [5.0] * 10, 10.05, 10.5),  # below the good ones: the floors (a weak separation)
    ],
)
def test_calibration_rule(shots, validation, synthetic, t1, t2):
    cal = calibrate(shots, validation, synthetic)
    assert (cal.t_uncertain, cal.t_fail) == pytest.approx((t1, t2), rel=1e-4)
    assert max(shots + validation) < cal.t_uncertain < cal.t_fail


def test_calibration_refuses_nothing_or_nan():
    with pytest.raises(CalibrationError, match="at least one"):
        calibrate([])
    with pytest.raises(CalibrationError, match="non-finite"):
        calibrate([1.0, float("nan")])


def test_enroll_stores_versions_reactivates_and_audits(station_db, detector, bad_files):
    shots, rejects = shots_from([*REFERENCE_FILES[:4], bad_files["corrupt"], bad_files["blurred"]])
    first = enroll(station_db, detector, "board", shots, pre_rejects=rejects,
                   validation=shots_from(LINE_FILES[:2])[0])
    assert first.version == 1 and len(first.shots) == 4 and len(first.rejects) == 2
    cal = first.calibration
    assert len(cal.shot_scores) == 4 and len(cal.validation_scores) == 2
    assert max(cal.scores) < cal.t_uncertain < cal.t_fail
    # Leave-one-out is what the line sees for a good shot: every good score passes.
    with station_db.session() as s:
        stored = repo.active_reference_set(s, "board")
    refs = ReferenceSet.from_bytes(stored.features)
    assert refs.k == 4 and stored.calibration["method"] == "knn" and len(stored.images) == 4
    assert detector.predict(shots[0].image, refs).score < cal.t_uncertain

    second = enroll(station_db, detector, "board", shots_from(REFERENCE_FILES[4:])[0], k=3)
    assert second.version == 2 and len(second.shots) == 3
    activate_version(station_db, "board", 1)
    with station_db.session() as s:
        assert repo.active_reference_set(s, "board").version == 1
        actions = [e.action for e in repo.list_audit_events(s)]
    assert actions == ["reference_set_activated", "reference_set_enrolled", "reference_set_enrolled"]
    with pytest.raises(EnrollmentError, match="no reference set version 7"):
        activate_version(station_db, "board", 7)


def test_too_few_usable_images_is_an_error_listing_the_rejects(station_db, detector, bad_files):
    shots, rejects = shots_from([REFERENCE_FILES[0], bad_files["duplicate"], bad_files["tiny"]])
    with pytest.raises(EnrollmentError, match=r"1 usable image.*duplicate\.png: near-duplicate.*tiny\.png: too small"):
        enroll(station_db, detector, "board", shots, pre_rejects=rejects)
    with station_db.session() as s:
        assert repo.list_reference_sets(s, "board") == []  # nothing half-stored


def test_prepare_stores_nothing_and_save_stores_the_draft(station_db, detector):
    files = shots_from(REFERENCE_FILES[:3])[0]
    live = Shot("live frame 0", load_rgb(REFERENCE_FILES[3]))
    draft = prepare(detector, "board", [*files, live], source=["file"] * 3 + ["live"])
    assert draft.shot_names == [*(str(p) for p in REFERENCE_FILES[:3]), "live frame 0"]
    assert draft.refs.k == 4 and draft.method == "knn" and draft.calibration.t_uncertain < draft.calibration.t_fail
    with station_db.read_session() as s:
        assert repo.list_reference_sets(s, "board") == [] and repo.list_audit_events(s) == []
    result = save(station_db, draft, actor="engineer:eve", note="wizard", details={"from": "test"})
    assert result.version == 1 and result.calibration is draft.calibration
    with station_db.read_session() as s:
        stored = repo.active_reference_set(s, "board")
        assert [i.source for i in stored.images] == ["file"] * 3 + ["live"]
        (audit,) = repo.list_audit_events(s)
    assert (audit.action, audit.actor, audit.details["from"]) == ("reference_set_enrolled", "engineer:eve", "test")


def test_teach_as_good_adds_the_image_as_a_new_version(station_db, detector):
    enroll(station_db, detector, "board", shots_from(REFERENCE_FILES[:3])[0])
    # A good board the line flagged: recorded as a real defect row (image + maps) by the recorder.
    image = load_rgb(LINE_FILES[0])
    with station_db.session() as s:
        refs = ReferenceSet.from_bytes(repo.active_reference_set(s, "board").features)
    pred = detector.predict(image, refs)
    now = time.time()
    rec = Recorder(DatabaseSink(station_db), "cam1")
    rec.start()
    rec.submit(FrameResult("cam1", "board", 0, now, now, pred.score, Verdict.FAIL, 0.0, 0.0, image,
                           pred.anomaly_map, pred.timings, LINE_FILES[0].name))
    rec.stop(timeout=30)
    with station_db.session() as s:
        (defect,), _ = repo.query_defects(s, product="board")

    result = teach_as_good(station_db, detector, defect.id, actor="reviewer")
    assert result.version == 2 and result.refs.k == 4
    assert detector.predict(image, result.refs).score < pred.score  # it now has itself as reference
    with station_db.session() as s:
        taught = repo.active_reference_set(s, "board")
        assert [i.source for i in taught.images] == ["file"] * 3 + ["review"]
        assert repo.get_defect(s, defect.id).label == "false_alarm"
        (audit,) = repo.list_audit_events(s, action="reference_set_taught")
    assert audit.details["defect_id"] == defect.id and audit.details["from_version"] == 1


def test_accepted_images_beyond_k_calibrate_as_validation(detector):
    shots = shots_from(REFERENCE_FILES[:6])[0]
    draft = prepare(detector, "board", shots, k=4)
    assert draft.refs.k == 4 and draft.validation_images == 2
    assert len(draft.calibration.validation_scores) == 2
    # the surplus boards were scored against the 4 shots, not built into them
    assert draft.shot_names == [str(p) for p in REFERENCE_FILES[:4]]
