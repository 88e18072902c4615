"""One listing of image folders: a folder enrolls in the order (and with the files) it replays."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from resad_station.capture import FolderSource
from resad_station.capture.imaging import crop_roi, image_files
from resad_station.enrollment.enroll import shots_from


@pytest.fixture
def numbered_folder(tmp_path):
    rng = np.random.default_rng(0)
    # natural order is board1, board2, board10; a plain sort would put board10 second.
    for name in ("board10.png", "board2.png", "board1.png", "board3.webp", ".~board4.png"):
        image = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
        ok, data = cv2.imencode(name[name.rindex("."):], image)
        assert ok
        (tmp_path / name).write_bytes(data.tobytes())
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def _replay_order(folder) -> list[str]:
    names = []
    with FolderSource(str(folder)) as source:
        while (frame := source.read()) is not None:
            names.append(frame.source_name)
    return names


def test_a_folder_enrolls_in_the_order_it_replays(numbered_folder):
    replayed = _replay_order(numbered_folder)
    assert replayed == ["board1.png", "board2.png", "board3.webp", "board10.png"]
    shots, rejects = shots_from([numbered_folder])
    assert not rejects
    assert [s.name.rsplit("/", 1)[-1] for s in shots] == replayed
    assert [p.name for p in image_files([numbered_folder])] == replayed


def test_crop_roi_clips_and_names_the_field_when_outside():
    image = np.zeros((10, 20, 3), np.uint8)
    assert crop_roi(image, (15, 5, 10, 10)).shape == (5, 5, 3)
    assert crop_roi(image, None) is image
    with pytest.raises(ValueError, match=r"camera.roi \[30, 0, 5, 5\] lies outside the 20x10 frame"):
        crop_roi(image, (30, 0, 5, 5))
