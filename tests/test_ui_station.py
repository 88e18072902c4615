"""The main window on the real runtime (demo line, real engine, real SQLite), offscreen."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402

from resad_station.runtime.events import Verdict  # noqa: E402
from resad_station.storage import repository as repo  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.station_link import StationLink  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "profiles" / "demo"
WAIT_MS = 120_000  # CPU-only machines: enrollment + the first frames take a while


def demo_profile(tmp_path: Path) -> Path:
    """The shipped demo line, with the k-NN method (needs no trained heads) and absolute paths."""
    text = (REPO / "profiles" / "demo.yaml").read_text()
    text = text.replace("method: resad", "method: knn").replace("uri: demo/line", f"uri: {DEMO / 'line'}")
    text = text.replace("references: demo/reference", f"references: {DEMO / 'reference'}")
    path = tmp_path / "demo-knn.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def window(qtbot, tmp_path):
    before = set(threading.enumerate())
    link = StationLink.open(demo_profile(tmp_path), tmp_path / "data")
    win = MainWindow(link, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    yield win
    if win.isVisible():
        win.close()
    qtbot.waitUntil(lambda: not [t for t in threading.enumerate() if t not in before], timeout=30_000)


def test_live_alarm_acknowledge_and_close_stops_every_thread(qtbot, window):
    before = set(threading.enumerate())
    window.start()
    qtbot.waitUntil(lambda: window.live.frames_shown > 0, timeout=WAIT_MS)
    assert window.bridge.frames_received > 0
    qtbot.waitUntil(lambda: window.live.previews_shown > 0, timeout=WAIT_MS)  # the live camera picture too
    qtbot.waitUntil(window.live.banner.isVisible, timeout=WAIT_MS)  # the demo's defective pair raises it
    t2 = window.live.trend.t2_line.value()
    assert any(p.score > t2 and p.verdict is Verdict.FAIL for p in window.live.trend.points)
    window.acknowledge()  # what F2 does
    qtbot.waitUntil(lambda: not window.live.banner.isVisible(), timeout=10_000)
    with window.link.db.session() as s:
        assert repo.query_defects(s)[1] > 0  # the recorder kept the failed frames for review

    started = [t for t in threading.enumerate() if t not in before]
    assert started  # capture / inspection / recorder threads run...
    window.close()
    qtbot.waitUntil(lambda: not any(t.is_alive() for t in started), timeout=30_000)  # ...and all stop
    assert window.link.station.pipeline is None and not window.thumbnails.alive


def test_enroll_wizard_from_files_saves_an_active_version(qtbot, window):
    window.session.pins.set_pin("246813")
    assert window.session.log_in("246813")
    wizard = window.open_enroll_wizard()
    assert wizard is not None
    wizard.images.add_files(sorted((DEMO / "reference").glob("*.png"))[:4])
    qtbot.waitUntil(wizard.images.isComplete, timeout=WAIT_MS)
    assert len(wizard.images.accepted_shots()) == 4 and wizard.images.thumbs.count() == 4
    wizard.next()  # -> build
    wizard.next()  # needs the build to be complete: stays until then
    qtbot.waitUntil(wizard.build.isComplete, timeout=WAIT_MS)
    cal = wizard.build.built.calibration
    assert cal.t_uncertain < cal.t_fail and wizard.build.histogram.good_scores.size == 4
    wizard.next()  # -> save
    wizard.accept()  # Finish
    qtbot.waitUntil(lambda: wizard.saved_version is not None, timeout=WAIT_MS)
    product = window.link.product
    with window.link.db.session() as s:
        active = repo.active_reference_set(s, product)
        assert active.version == wizard.saved_version == 2  # v1 came from the first-run enrollment
        events = repo.list_audit_events(s)
        assert events[0].action == "reference_set_enrolled" and events[0].details["from"] == "enroll wizard"
    assert window.link.station.active.reference_set_version == 2  # the line switched to it


def test_review_label_and_teach_as_good_persist(qtbot, window):
    window.start()
    # two logged defects to label and teach: the demo line's defective boards come a few frames apart
    qtbot.waitUntil(lambda: window.link.defects.count() >= 2, timeout=WAIT_MS)
    window.stop()
    qtbot.waitUntil(lambda: window.link.station.pipeline is None, timeout=30_000)
    window.tabs.setCurrentWidget(window.review)
    review = window.review
    review.apply_filter()
    assert review.model.total > 0
    first = review.current
    review.label_current("defect")
    window.runner.wait()
    qtbot.waitUntil(lambda: review.model.row_at(0).label == "defect")

    window.session.pins.set_pin("246813")
    assert window.session.log_in("246813")
    review.gallery.setCurrentIndex(review.model.index(1))
    taught = review.current
    review.teach_current()
    qtbot.waitUntil(lambda: window.runner.running == 0, timeout=WAIT_MS)
    with window.link.db.session() as s:
        assert repo.get_defect(s, first.id).label == "defect"
        assert repo.get_defect(s, taught.id).label == "false_alarm"
        assert repo.active_reference_set(s, window.link.product).version == 2
        actions = [e.action for e in repo.list_audit_events(s)]
    assert "label_defect" in actions and "reference_set_taught" in actions
    assert window.last_error is None
