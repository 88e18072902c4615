"""The "why" view: a defect's hottest region beside the same part of the reference shot it was compared with."""

from __future__ import annotations

import re

import numpy as np
import pytest

from station_helpers import LINE_FILES, REFERENCE_FILES, load_rgb

POSE = re.compile(r"dy([+-]\d+)_dx([+-]\d+)")


def pose(path) -> tuple[int, int]:
    dy, dx = POSE.search(path.name).groups()
    return int(dy), int(dx)


@pytest.fixture(scope="module")
def knn():
    from engine import Detector

    det = Detector.load(method="knn", device="cpu")
    return det, det.build_references([load_rgb(p) for p in REFERENCE_FILES[:4]])


def synthetic_defect(image: np.ndarray, x: int, y: int, side: int = 24) -> np.ndarray:
    """A square of the board inverted: copper where there was none and none where there was."""
    out = image.copy()
    out[y : y + side, x : x + side] = 255 - out[y : y + side, x : x + side]
    return out


@pytest.mark.parametrize("where", [(150, 200), (420, 380)])
def test_reference_crop_is_the_same_place_of_a_shot(knn, where):
    from resad_station.why import explain, why_crops

    det, refs = knn
    frame_file = next(p for p in LINE_FILES if "_good_" in p.name)
    x, y = where
    frame = synthetic_defect(load_rgb(frame_file), x, y)
    pred = det.predict(frame, refs)
    assert pred.nearest is not None
    shots = [load_rgb(p) for p in REFERENCE_FILES[:4]]
    why = explain(frame.shape, pred.anomaly_map, pred.nearest, [s.shape[:2] for s in shots],
                  shot_names=[p.name for p in REFERENCE_FILES[:4]])
    # the hottest point is on the defect
    px, py = why.point
    assert x - 12 <= px <= x + 36 and y - 12 <= py <= y + 36, (why.point, where)
    # board point B shows at frame pixel B - 20 - pose (build_demo.py): the same part of the shot is
    # the frame point moved by (frame pose - shot pose)
    fdy, fdx = pose(frame_file)
    sdy, sdx = pose(REFERENCE_FILES[why.shot])
    expected = (px + fdx - sdx, py + fdy - sdy)
    assert abs(why.ref_point[0] - expected[0]) <= 10 and abs(why.ref_point[1] - expected[1]) <= 10, (why, expected)
    assert why.shot_name == REFERENCE_FILES[why.shot].name
    assert f"reference shot {why.shot + 1}" in why.caption()
    crop, ref_crop = why_crops(frame, shots[why.shot], why)
    assert crop.shape == ref_crop.shape and 32 <= crop.shape[0] <= 160
    # the two crops show the same board (apart from the defect): far closer than two random places
    rx, ry, rw, rh = why.ref_region
    elsewhere = shots[why.shot][(ry + 200) % 400 : (ry + 200) % 400 + rh, (rx + 200) % 400 : (rx + 200) % 400 + rw]
    assert np.abs(crop.astype(int) - ref_crop.astype(int)).mean() < np.abs(
        crop.astype(int) - elsewhere[: crop.shape[0], : crop.shape[1]].astype(int)).mean()
