"""A shot carries where it came from as a field: live frames are told apart by it, never by their name."""

from __future__ import annotations

import shutil

import pytest
from station_helpers import REFERENCE_FILES, load_rgb, write_profile

from engine import Detector
from resad_station.enrollment.enroll import prepare_items, save
from resad_station.enrollment.quality import Shot
from resad_station.profiles import load_profile
from resad_station.storage import repository as repo


@pytest.fixture(scope="module")
def detector():
    return Detector.load(method="knn", device="cpu", input_size=128)


def test_sources_follow_the_shot_not_its_name(tmp_path, station_db, detector):
    # a file whose name looks like a live frame stays a file; a live frame with any name stays live
    tricky = tmp_path / "live frame 7.png"
    shutil.copy(REFERENCE_FILES[0], tricky)
    profile = load_profile(write_profile(tmp_path, "p", "board", {"kind": "folder", "uri": str(tmp_path)}))
    frames = [Shot("cam1 #12", load_rgb(REFERENCE_FILES[1]), "live"), load_rgb(REFERENCE_FILES[2])]
    draft = prepare_items(detector, profile, [tricky, REFERENCE_FILES[3]], frames=frames)
    assert list(zip(draft.shot_names, draft.sources)) == [
        (str(tricky), "file"), (str(REFERENCE_FILES[3]), "file"), ("cam1 #12", "live"), ("live frame 1", "live")]
    assert [s.source for s in draft.shots] == draft.sources
    save(station_db, draft, actor="engineer:eve")
    with station_db.read_session() as s:
        assert [i.source for i in repo.active_reference_set(s, "board").images] == ["file", "file", "live", "live"]
