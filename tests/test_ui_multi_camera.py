"""The multi-camera window on the real runtime: two folder cameras, the k-NN engine, offscreen."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from station_helpers import LINE_FILES, write_profile  # noqa: E402

from resad_station.runtime.multi_station import MultiStation  # noqa: E402
from ui.multi_window import MultiCameraWindow  # noqa: E402

WAIT_MS = 180_000  # CPU-only machines: enrollment + the first frames take a while


def test_camera_grid_tiles_open_a_full_live_screen_and_review_filters_by_camera(qtbot, tmp_path):
    before = set(threading.enumerate())
    profiles = [write_profile(tmp_path, name, "board", {"kind": "folder", "uri": str(LINE_FILES[0].parent),
                                                         "name": name, "mode": "triggered", "fps": 20})
                for name in ("top", "side")]
    line = MultiStation.open(profiles, tmp_path / "data")
    win = MultiCameraWindow(line)
    qtbot.addWidget(win)
    win.show()
    win.start()
    tiles = win.grid.tiles
    assert set(tiles) == {"top", "side"} and win.stack.currentWidget() is win.grid
    # Every tile shows its own camera's inspected frames (picture + badge) and its state.
    qtbot.waitUntil(lambda: all(t.frames_shown > 0 and t.badge.verdict is not None for t in tiles.values()),
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: line.wait(0), timeout=WAIT_MS)  # both folders inspected to the end
    qtbot.waitUntil(lambda: "2 cameras" in win.summary.text() and "fps inspected" in win.summary.text(),
                    timeout=WAIT_MS)
    assert all(t.inspected.has_picture and t.live.has_picture for t in tiles.values())

    qtbot.mouseClick(tiles["side"], Qt.MouseButton.LeftButton)
    assert win.stack.currentWidget() is win.screens["side"] and win.open_camera_name == "side"
    assert "side" in win.where.text() and win.back.isVisible()
    win.back.click()
    assert win.stack.currentWidget() is win.grid and win.open_camera_name is None

    assert line.stop(timeout=30)
    win.tabs.setCurrentWidget(win.review)
    review = win.review
    review.set_products(["board"])
    cameras = [review.camera.itemText(i) for i in range(review.camera.count())]
    assert cameras == ["all cameras", "side", "top"]
    review.camera.setCurrentText("top")
    with line.db.read_session() as s:
        from resad_station.storage import repository as repo

        expected = repo.query_defects(s, camera="top", limit=1)[1]
    assert review.model.total == expected > 0
    win.close()
    line.close()
    qtbot.waitUntil(lambda: not [t for t in threading.enumerate() if t not in before and t.is_alive()
                                 and t.name.split("-")[0] in ("capture", "inspect", "recorder")], timeout=30_000)
