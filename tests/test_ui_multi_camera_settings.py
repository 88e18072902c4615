"""Each camera's Settings and Enroll wizard in the multi-camera window, on the real runtime (two
folder cameras, each its own product, the k-NN engine), real Qt widgets offscreen: a threshold
change on one camera needs the engineer PIN, is audited and leaves the other camera's alone;
enrolling on one camera leaves the other's references and inspection as they were."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from station_helpers import DEMO, LINE_FILES, Events, write_profile  # noqa: E402
from test_ui_review_and_roles import answer_pin_dialog  # noqa: E402

from resad_station.runtime.multi_station import MultiStation  # noqa: E402
from resad_station.storage import repository as repo  # noqa: E402
from ui.multi_window import MultiCameraWindow  # noqa: E402

WAIT_MS = 240_000  # CPU-only machines under load: enrollment and the first frames take a while
PIN = "246813"


@pytest.fixture
def window(qtbot, tmp_path):
    profiles = [write_profile(tmp_path, name, f"board-{name}", {"kind": "folder", "uri": str(LINE_FILES[0].parent),
                                                                 "name": name, "mode": "live", "fps": 10, "loop": True})
                for name in ("top", "side")]
    line = MultiStation.open(profiles, tmp_path / "data")
    win = MultiCameraWindow(line)
    qtbot.addWidget(win)
    win.show()
    events = Events()
    line.add_listener(events)
    win.session.pins.set_pin(PIN)
    win.start()
    yield win, line, events
    win.close()
    line.close()


def frames_of(events: Events, camera: str) -> list:
    with events.lock:
        return [f for f in events.frames if f.camera == camera]


def audit(line, action: str) -> list:
    with line.db.read_session() as s:
        return [e for e in repo.list_audit_events(s, limit=500) if e.action == action]


def test_thresholds_of_one_camera_need_the_pin_are_audited_and_leave_the_other_alone(qtbot, window):
    win, line, events = window
    assert [win.settings_tabs.tabText(i) for i in range(win.settings_tabs.count())] == ["top", "side", "Station record"]
    qtbot.waitUntil(lambda: bool(frames_of(events, "top") and frames_of(events, "side")), timeout=WAIT_MS)
    top, side = win.links["top"], win.links["side"]
    top_before, side_before = top.thresholds(), side.thresholds()
    editor = win.settings["side"].thresholds
    assert editor.edited() == pytest.approx(side_before, abs=1e-3)  # each camera's tab shows its own
    assert win.settings["top"].thresholds.edited() == pytest.approx(top_before, abs=1e-3)
    t2 = round(side_before[1] * 1.5, 3)

    editor.t2.setValue(t2)
    answer_pin_dialog(qtbot, "000000")  # an operator with a wrong PIN: refused, put back, nothing audited
    editor.apply_button.click()
    win.runner.wait()
    assert win.session.role == "operator" and editor.edited() == pytest.approx(side_before, abs=1e-3)
    assert side.thresholds() == side_before and audit(line, "thresholds_changed") == []

    editor.t2.setValue(t2)
    answer_pin_dialog(qtbot, PIN)
    editor.apply_button.click()
    qtbot.waitUntil(lambda: side.thresholds()[1] == pytest.approx(t2, abs=1e-3), timeout=30_000)
    win.runner.wait()  # the audit row is written in the same worker task, just after
    assert top.thresholds() == top_before  # the other camera's are untouched...
    (row,) = audit(line, "thresholds_changed")  # ...and the change is audited, naming its camera and who
    assert (row.actor, row.details["camera"], row.details["product"]) == (win.session.actor, "side", "board-side")
    assert row.details["to"][1] == pytest.approx(t2, abs=1e-3)
    qtbot.waitUntil(lambda: abs(win.screens["side"].trend.t2_line.value() - t2) < 1e-3)  # its live screen shows it
    assert "side: thresholds set" in win.statusBar().currentMessage()
    assert win.screens["top"].trend.t2_line.value() == pytest.approx(top_before[1])
    # frames decided from now on: the side camera's against the new T2, the top camera's against its old one
    seen = {c: len(frames_of(events, c)) for c in ("top", "side")}
    qtbot.waitUntil(lambda: all(len(frames_of(events, c)) > seen[c] + 1 for c in seen), timeout=WAIT_MS)
    assert frames_of(events, "side")[-1].t_fail == pytest.approx(t2, abs=1e-3)
    assert frames_of(events, "top")[-1].t_fail == pytest.approx(top_before[1])
    assert win.last_error is None


def test_enrolling_on_one_camera_leaves_the_other_camera_inspecting_as_before(qtbot, window):
    win, line, events = window
    qtbot.waitUntil(lambda: bool(frames_of(events, "top") and frames_of(events, "side")), timeout=WAIT_MS)
    assert win.open_enroll_wizard() is None  # on the grid no camera is chosen: it says so
    assert "open a camera" in win.statusBar().currentMessage()
    win.tabs.setCurrentWidget(win.settings_tabs)
    win.settings_tabs.setCurrentWidget(win.settings["side"])
    assert win.chosen_camera == "side"
    top_station = line.station("top")
    top_active = top_station.active
    assert win.session.log_in(PIN)
    wizard = win.open_enroll_wizard()  # Ctrl+E: the camera whose Settings tab shows
    assert wizard is not None and "side" in wizard.windowTitle()
    assert wizard.products.product_name() == "board-side"
    wizard.images.add_files(sorted((DEMO / "reference").glob("*.png"))[:4])
    qtbot.waitUntil(wizard.images.isComplete, timeout=WAIT_MS)
    wizard.next()  # -> build
    wizard.next()
    qtbot.waitUntil(wizard.build.isComplete, timeout=WAIT_MS)
    wizard.next()  # -> save
    wizard.accept()
    qtbot.waitUntil(lambda: wizard.saved_version is not None, timeout=WAIT_MS)
    assert wizard.saved_version == 2 and line.station("side").active.reference_set_version == 2
    assert top_station.active is top_active  # the top camera's product, references and thresholds as they were
    with line.db.read_session() as s:
        assert repo.active_reference_set(s, "board-top").version == 1
    (row,) = audit(line, "reference_set_enrolled")[:1]
    assert row.details["camera"] == "side" and row.actor == win.session.actor
    seen = len(frames_of(events, "top"))  # and the top camera keeps inspecting
    qtbot.waitUntil(lambda: len(frames_of(events, "top")) > seen + 1, timeout=WAIT_MS)
    assert {f.reference_version for f in frames_of(events, "top")} == {1}

    # Review's teach as good goes to the camera that logged the defect: the top camera's references
    qtbot.waitUntil(lambda: win.links["top"].defects.count(camera="top") > 0, timeout=WAIT_MS)
    win.tabs.setCurrentWidget(win.review)
    win.review.camera.setCurrentText("top")
    taught = win.review.current
    assert taught is not None and taught.camera == "top"
    win.review.teach_current()
    qtbot.waitUntil(lambda: top_station.active.reference_set_version == 2, timeout=WAIT_MS)
    assert line.station("side").active.reference_set_version == 2  # its own enrollment, untouched since
    assert audit(line, "reference_set_taught")[0].details["defect_id"] == taught.id
    assert win.last_error is None
