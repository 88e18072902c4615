"""The why view (Review detail, live click, zip export), the drift and camera-notice banners, the
trend band, the shift report button and the Station record tab, on the real runtime (demo line,
k-NN engine), offscreen."""

from __future__ import annotations

import zipfile

import pytest

pytest.importorskip("pytestqt")

from resad_station.runtime.drift import DriftEvent, DriftStatus  # noqa: E402
from resad_station.runtime.events import Notice  # noqa: E402
from resad_station.storage import repository as repo  # noqa: E402
from resad_station.storage.repository.why import get_defect_why  # noqa: E402
from test_ui_station import WAIT_MS, window  # noqa: E402,F401 (the fixture)


def test_why_in_review_live_click_and_export(qtbot, window, tmp_path):  # noqa: F811
    window.start()
    # the demo line's first defective board is frame 12: wait until it is logged
    qtbot.waitUntil(lambda: window.link.defects.count() >= 1, timeout=WAIT_MS)
    window.stop()
    qtbot.waitUntil(lambda: window.link.station.pipeline is None, timeout=30_000)
    # the live view: a click on the inspected picture shows that region against its reference
    live = window.live
    frame = live.last_frame
    assert frame is not None and frame.result is not None and frame.result.nearest is not None
    live.why.show_at(frame.image.shape[1] / 2, frame.image.shape[0] / 2)
    assert live.why.last is not None and "against this part of reference shot" in live.why.panel.caption.text()
    assert not live.why.panel.region.pixmap().isNull() and not live.why.panel.reference.pixmap().isNull()

    window.tabs.setCurrentWidget(window.review)
    review = window.review
    review.apply_filter()
    assert review.model.total > 0
    with window.link.db.read_session() as s:
        stored = get_defect_why(s, review.current.id)
    assert stored is not None and stored.details["region"][2] > 0
    assert f"reference shot {stored.shot_index + 1}" in review.why.caption.text()
    assert not review.why.region.pixmap().isNull() and not review.why.reference.pixmap().isNull()
    window.grab().save(str(tmp_path / "review_why.png"))

    out = tmp_path / "defects.zip"
    review.start_export(out, csv=False)
    window.runner.wait()
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        header = z.read("defects.csv").decode().splitlines()[0].split(",")
    assert "why_region" in header and sum(n.startswith("why/") for n in names) >= 2

    report = tmp_path / "shift.pdf"
    review.start_report(report)
    window.runner.wait()
    qtbot.waitUntil(lambda: "shift report written" in review.status.text(), timeout=30_000)
    assert report.stat().st_size > 1000

    window.tabs.setCurrentWidget(window.settings_screen)
    tree = window.honesty.tree
    assert tree.topLevelItemCount() == 1 and tree.topLevelItem(0).text(0) == window.link.product
    assert window.last_error is None


def test_drift_banner_and_trend_band(qtbot, window, tmp_path):  # noqa: F811
    live = window.live
    raised = DriftEvent("cam1", "pcb-demo", DriftStatus.RAISED, 1000.0, 2.3, 940.0, 40, 4.9, 1.3,
                        "good parts scoring higher than at enrollment (2.3 sigma over the last 60 s): check lighting and camera")
    window.bridge.on_drift(raised)  # as the runtime publishes it
    qtbot.waitUntil(lambda: live.drift_banner.isVisible(), timeout=10_000)
    assert "2.3 sigma" in live.drift_banner.text.text() and not live.banner.isVisible()  # not the alarm
    assert live.trend.drift_marks.open
    window.grab().save(str(tmp_path / "live_drift.png"))
    window.bridge.on_drift(DriftEvent("cam1", "pcb-demo", DriftStatus.CLEARED, 1100.0, 0, 1100.0, 0, 4.9, 1.3, "cleared"))
    qtbot.waitUntil(lambda: not live.drift_banner.isVisible(), timeout=10_000)
    assert not live.trend.drift_marks.open


def test_camera_notice_banner_shows_and_withdraws(qtbot, window, tmp_path):  # noqa: F811
    live = window.live
    window.bridge.on_notice(Notice("cam1", "pcb-demo", "frame_scale", 1000.0, "frames are 1200x1200 px"))
    qtbot.waitUntil(lambda: live.notice_banner.isVisible(), timeout=10_000)
    assert live.notice_banner.text.text() == "CHECK CAMERA cam1: frames are 1200x1200 px"
    assert not live.banner.isVisible() and not live.drift_banner.isVisible()  # neither alarm nor drift
    window.grab().save(str(tmp_path / "live_notice.png"))
    window.bridge.on_notice(Notice("cam1", "pcb-demo", "frame_scale", 1100.0))
    qtbot.waitUntil(lambda: not live.notice_banner.isVisible(), timeout=10_000)
