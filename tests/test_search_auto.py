"""engine.search "auto": each reference set chooses the guided or the wide search from its own shots
(engine/search_choice.py), records it, and scores exactly as that fixed search would."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from engine_images import brick_crops

from engine import Detector
from engine.errors import ReferenceSetError
from engine.references import ReferenceSet
from engine.search_choice import WIDE_ABOVE, guided_excess

SIZE = 256
DEMO = Path(__file__).resolve().parents[1] / "profiles" / "demo"


def _grey(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert image is not None, path
    return np.repeat(image[:, :, None], 3, axis=2)


# the demo line's shots: one board in a fixture, a few pixels off each time (the guided window holds its matches)
FIXTURED = [_grey(p) for p in sorted((DEMO / "reference").glob("*.png"))[:4]]
# parts of that board taken at other places: the same kind of copper, never at the same place
BOARD = _grey(sorted((DEMO / "reference").glob("*.png"))[4])
PLACES = [(0, 0), (0, 300), (300, 0), (300, 300), (150, 150)]
ELSEWHERE = [BOARD[y : y + 300, x : x + 300].copy() for y, x in PLACES[:4]]
TEXTURE = brick_crops(4, SIZE)


@pytest.fixture(scope="module")
def detectors():
    return {s: Detector.load(method="knn", device="cpu", input_size=SIZE, search=s) for s in ("guided", "wide", "auto")}


@pytest.mark.parametrize("shots, expected", [(ELSEWHERE, "wide"), (FIXTURED, "guided"), (TEXTURE, "guided")],
                         ids=["board parts at other places", "fixtured board", "texture"])
def test_auto_searches_wide_only_where_the_shots_recur_elsewhere_and_scores_as_that_search(detectors, shots, expected):
    auto, fixed = detectors["auto"], detectors[expected]
    refs, same = auto.build_references(shots), fixed.build_references(shots)
    assert refs.search == expected and auto.search_for(refs) == expected
    assert (refs.search_excess > WIDE_ABOVE) == (expected == "wide")
    assert refs.search_excess == pytest.approx(guided_excess(same, fixed.radius))
    assert auto.score_id_for(refs) == fixed.score_id_for(same)  # one search, one threshold scale
    y, x = PLACES[4]
    frame = BOARD[y : y + 300, x : x + 300] if shots is ELSEWHERE else shots[0]
    a, f = auto.predict(frame, refs), fixed.predict(frame, same)
    assert a.score == pytest.approx(f.score, rel=1e-6)
    np.testing.assert_allclose(a.anomaly_map, f.anomaly_map, rtol=1e-5, atol=1e-5)


def test_the_wide_search_is_what_lets_board_parts_at_other_places_match(detectors):
    """Why the choice matters: a good part of the board, taken at yet another place, lies farther from
    its nearest reference patches under the guided search (raw residual norms, finest level)."""
    import torch

    y, x = PLACES[4]
    frame = BOARD[y : y + 300, x : x + 300]
    norms = {}
    for s in ("guided", "wide"):
        det = detectors[s]
        refs = det.build_references(ELSEWHERE)
        feats = [f.unsqueeze(0) for f in det.frame_features([frame], short_side=refs.short_side, align="none")[0]]
        with torch.inference_mode():
            norms[s] = float(det._residuals(feats, refs.pools("cpu"), refs)[0].norm(dim=1).mean())
    assert norms["guided"] > norms["wide"]


def test_the_choice_is_kept_with_the_set_and_a_set_without_one_chooses_on_first_use(detectors):
    auto = detectors["auto"]
    built = auto.build_references(ELSEWHERE)
    loaded = ReferenceSet.from_bytes(built.to_bytes())
    assert (loaded.search, loaded.search_excess) == ("wide", built.search_excess)
    assert auto.predict(ELSEWHERE[0], loaded).score == pytest.approx(auto.predict(ELSEWHERE[0], built).score)
    earlier = detectors["guided"].build_references(ELSEWHERE)  # a set made under a fixed search records none
    assert earlier.search is None
    again = ReferenceSet.from_bytes(earlier.to_bytes())
    assert auto.search_for(again) == "wide" and again.search_excess == pytest.approx(built.search_excess)
    assert detectors["guided"].search_for(loaded) == "guided"  # a fixed search in the profile wins


def _with_metadata(blob: bytes, **changes) -> bytes:
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n])
    header["__metadata__"].update(changes)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + blob[8 + n :]


def test_a_reference_set_whose_search_metadata_is_not_a_choice_does_not_load(detectors):
    blob = detectors["auto"].build_references(TEXTURE).to_bytes()
    with pytest.raises(ReferenceSetError, match=r"search 'exhaustive', expected one of \('guided', 'wide'\)"):
        ReferenceSet.from_bytes(_with_metadata(blob, search="exhaustive"))
    with pytest.raises(ReferenceSetError, match="corrupt metadata.*search_excess"):
        ReferenceSet.from_bytes(_with_metadata(blob, search_excess="nan"))
    assert math.isfinite(ReferenceSet.from_bytes(blob).search_excess)


def test_enrollment_under_auto_says_which_search_the_shots_chose(detectors):
    from engine import self_test
    from resad_station.enrollment.self_test_text import self_test_lines

    auto = detectors["auto"]
    wide = self_test.run(auto, ELSEWHERE, auto.build_references(ELSEWHERE)).to_dict()
    guided = self_test.run(auto, FIXTURED, auto.build_references(FIXTURED)).to_dict()
    assert (wide["search"], guided["search"]) == ("wide", "guided")
    assert any(line.startswith("search: wide (auto") for line in self_test_lines(wide))
    assert any(line.startswith("search: guided (auto") for line in self_test_lines(guided))
    fixed = self_test.run(detectors["wide"], ELSEWHERE, detectors["wide"].build_references(ELSEWHERE)).to_dict()
    assert fixed["search"] == "wide" and fixed["search_excess"] is None
    assert not any(line.startswith("search:") for line in self_test_lines(fixed))


def test_the_bench_reports_the_search_the_bench_shots_chose(detectors):
    from engine.bench import format_bench, run_bench

    result = run_bench(ELSEWHERE, ELSEWHERE, detectors["auto"], repeats=2, batch=2)
    assert (result["search"], result["search_setting"]) == ("wide", "auto")
    assert "search wide (auto)" in format_bench(result)
