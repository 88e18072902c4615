"""engine.align "auto": each reference set decides from its own shots whether its frames are turned
(engine/part_align.resolve_align), records it, and scores exactly as a fixed align would."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from engine_images import brick_rgb, with_defect
from station_helpers import write_profile
from test_part_align import POSES, SIZE, part_on_table

from engine import Detector
from engine.errors import ReferenceSetError
from engine.references import ReferenceSet


@pytest.fixture(scope="module")
def detectors():
    return {a: Detector.load(method="knn", device="cpu", input_size=SIZE, align=a) for a in ("none", "part", "auto")}


LOOSE = [part_on_table(*p) for p in POSES]
TEXTURE = [brick_rgb()[y : y + SIZE, :SIZE] for y in (0, 40, 80, 120)]


@pytest.mark.parametrize("shots, expected", [(LOOSE, "part"), (TEXTURE, "none")], ids=["loose part", "texture"])
def test_auto_turns_a_loose_part_only_and_then_scores_as_the_fixed_setting_does(detectors, shots, expected):
    auto, fixed = detectors["auto"], detectors[expected]
    good = part_on_table(200, -12, 6) if expected == "part" else brick_rgb()[60 : 60 + SIZE, 20 : 20 + SIZE]
    defective, _ = with_defect(good, (112, 108, 30, 26))
    refs, same = auto.build_references(shots), fixed.build_references(shots)
    assert refs.align == expected and auto.align_for(refs) == expected
    assert auto.score_id_for(refs) == fixed.score_id_for(same)  # one setting, one threshold scale
    for frame in (good, defective):
        a, f = auto.predict(frame, refs), fixed.predict(frame, same)
        assert a.score == pytest.approx(f.score, rel=1e-6)
        np.testing.assert_allclose(a.anomaly_map, f.anomaly_map, rtol=1e-5, atol=1e-5)


def test_the_choice_is_kept_with_the_set_and_a_fixed_align_that_differs_refuses_it(detectors):
    refs = ReferenceSet.from_bytes(detectors["auto"].build_references(LOOSE).to_bytes())
    assert refs.align == "part"
    assert detectors["part"].predict(LOOSE[0], refs).score == pytest.approx(detectors["auto"].predict(LOOSE[0], refs).score)
    with pytest.raises(ReferenceSetError, match="built with align 'part', this detector uses 'none'"):
        detectors["none"].predict(LOOSE[0], refs)


def test_a_reference_set_whose_align_metadata_is_not_a_mode_does_not_load():
    import json

    blob = Detector.load(method="knn", device="cpu", input_size=SIZE).build_references(TEXTURE).to_bytes()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n])
    header["__metadata__"]["align"] = "sideways"
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with pytest.raises(ReferenceSetError, match=r"align 'sideways', expected one of \('none', 'part'\)"):
        ReferenceSet.from_bytes(len(raw).to_bytes(8, "little") + raw + blob[8 + n :])


def test_enrollment_under_auto_says_what_the_shots_decided(detectors):
    from engine import self_test
    from resad_station.enrollment.self_test_text import self_test_lines

    det = detectors["auto"]
    loose = self_test.run(det, LOOSE, det.build_references(LOOSE)).to_dict()
    texture = self_test.run(det, TEXTURE, det.build_references(TEXTURE)).to_dict()
    assert (loose["align"], loose["align_chosen"], texture["align"]) == ("part", True, "none")
    assert any(line.startswith("alignment: part (auto") for line in self_test_lines(loose))
    assert any(line.startswith("alignment: none (auto") for line in self_test_lines(texture))
    assert not any("engine.align: part turns" in w for w in loose["warnings"])  # no hint: it is on
    fixed = self_test.run(detectors["part"], LOOSE, detectors["part"].build_references(LOOSE)).to_dict()
    assert not any(line.startswith("alignment:") for line in self_test_lines(fixed))


def test_a_station_refuses_a_set_turned_otherwise_than_its_profile_says(tmp_path):
    from resad_station.runtime.station import Station, StationError

    shots = tmp_path / "shots"
    shots.mkdir()
    for i, image in enumerate(LOOSE):
        cv2.imwrite(str(shots / f"shot{i}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    camera = {"kind": "folder", "uri": str(shots)}
    data = tmp_path / "data"
    auto = write_profile(tmp_path, "auto", "horse", camera, engine={"align": "auto"},
                         enrollment={"references": str(shots)})
    with Station.open(auto, data) as station:  # first run: enrolled from the folder, the shots decide
        assert station.active.refs.align == "part"
    fixed = write_profile(tmp_path, "fixed", "horse", camera, engine={"align": "none"},
                          enrollment={"references": str(shots)})
    with pytest.raises(StationError, match="built with engine.align 'part', the profile's engine.align is 'none'"):
        Station.open(fixed, data)


def test_an_empty_table_a_blank_frame_and_another_product_fail_a_turned_loose_part(detectors):
    """Under auto the shots of a loose part are turned, a frame without a part is not: the
    whole-frame checks still catch what the patch score lets through."""
    import skimage.data

    det = detectors["auto"]
    refs = det.build_references(LOOSE)
    assert refs.align == "part"
    table = (200 + 0.04 * (brick_rgb()[-SIZE:, -SIZE:].astype(np.float32) - 128)).astype(np.uint8)
    frames = {"part missing": table, "blank frame": np.zeros((SIZE, SIZE, 3), np.uint8),
              "unlike the references": cv2.resize(skimage.data.coffee(), (SIZE, SIZE), interpolation=cv2.INTER_AREA)}
    for reason, frame in frames.items():
        assert det.predict(frame, refs).reason == reason
    assert det.predict(part_on_table(200, -12, 6), refs).reason == ""  # a good part, turned otherwise


def test_a_set_saved_before_its_align_was_recorded_is_read_as_its_statistics_say(detectors):
    turned = detectors["part"].build_references(LOOSE)
    plain = detectors["none"].build_references(LOOSE)
    for refs, expected in ((turned, "part"), (plain, "none")):
        refs.align = None  # what a set of an earlier version carried: no align in its metadata
        loaded = ReferenceSet.from_bytes(refs.to_bytes())
        assert loaded.align == expected
        assert detectors["auto"].align_for(loaded) == expected  # a profile switched to auto turns its frames alike
