"""What a new user saw go wrong on the desktop: overlapping threshold labels, a window widened by a
long status text, a first window far smaller than the screen, lateness not shown."""

from __future__ import annotations

import os
import re
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402
from test_ui_station import demo_profile  # noqa: E402

from resad_station.runtime.events import CameraState, CameraStatus, Metrics  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.score_histogram import ScoreHistogram  # noqa: E402
from ui.score_trend import ScoreTrendPlot  # noqa: E402
from ui.station_link import StationLink  # noqa: E402


def _label_rects(plot):
    return plot.t1_line.label.sceneBoundingRect(), plot.t2_line.label.sceneBoundingRect()


@pytest.mark.parametrize("make", [ScoreTrendPlot, ScoreHistogram])
def test_t1_and_t2_labels_do_not_overlap_when_the_thresholds_are_close(qtbot, make):
    plot = make()
    qtbot.addWidget(plot)
    plot.resize(600, 300)
    plot.show()
    if isinstance(plot, ScoreHistogram):
        plot.set_good_scores([1.0, 1.1, 1.2, 1.3])
        plot.setXRange(0.0, 3.0)
    else:
        plot.setYRange(0.0, 3.0)
    plot.set_thresholds(1.50, 1.52)
    qtbot.wait(50)
    t1, t2 = _label_rects(plot)
    assert t1.width() > 0 and t2.width() > 0
    assert not t1.intersects(t2)


def test_the_trend_reads_as_clock_time(qtbot):
    plot = ScoreTrendPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 300)
    plot.show()
    now = time.time()
    plot.setXRange(now - 120, now, padding=0)
    qtbot.wait(100)
    axis = plot.getAxis("bottom")
    spacing, values = axis.tickValues(now - 120, now, 600)[-1]
    ticks = axis.tickStrings(values, 1.0, spacing)
    assert ticks and all(re.fullmatch(r"\d\d:\d\d(:\d\d)?", t) for t in ticks), ticks
    assert time.strftime("%H:%M", time.localtime(values[0])) in ticks[0]
    assert axis.labelText == "clock time"


@pytest.fixture
def window(qtbot, tmp_path):
    link = StationLink.open(demo_profile(tmp_path), tmp_path / "data")
    win = MainWindow(link, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))  # no saved layout
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def test_first_window_uses_the_screen_and_long_status_text_elides(qtbot, window):
    screen = (window.screen() or QGuiApplication.primaryScreen()).availableGeometry()
    assert window.width() >= 0.85 * screen.width() and window.height() >= 0.85 * screen.height()
    width = window.width()
    reason = "stream 'rtsp://cam.example/line3': cannot open (" + "connection refused, " * 60 + ")"
    window.status.set_camera_state(CameraState("cam1", CameraStatus.RECONNECTING, reason, time.time()))
    qtbot.wait(100)
    assert window.width() == width  # the text elides, the window does not grow
    label = window.status.camera
    assert label.toolTip().endswith(reason + ")") and label.shown_text().endswith("…")


def test_falling_behind_shows_on_the_live_screen(qtbot, window):
    late = Metrics("cam1", 3.0, 900.0, 2500.0, 100, 60, 0, 0, frames_queued=12, verdict_delay_s=2.5,
                   falling_behind="falling behind: 12 frames queued, verdicts 2.5 s late")
    window.status.set_metrics(late)
    assert window.status.behind.full_text == "falling behind: 12 frames queued, verdicts 2.5 s late"
    assert window.status.behind.isVisible()
    window.status.set_metrics(Metrics("cam1", 5.0, 20.0, 30.0, 101, 101, 0, 0))
    assert window.status.behind.full_text == ""
