"""Live-screen parts with real Qt widgets (offscreen): bridge coalescing, overlay, alarm banner."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from resad_station.runtime.events import (  # noqa: E402
    AlarmEvent,
    AlarmStatus,
    CameraState,
    CameraStatus,
    FrameResult,
    PreviewFrame,
    Verdict,
)
from PySide6.QtGui import QFontMetricsF  # noqa: E402

import ui.bridge  # noqa: E402
from ui import overlay  # noqa: E402
from ui.bridge import RuntimeBridge  # noqa: E402
from ui.live_screen import LiveScreen  # noqa: E402
from ui.verdict_badge import MIN_TITLE_PT, TITLE_PT, VerdictBadge  # noqa: E402


def frame(index: int, score: float, hot: bool, size=(1080, 1920)) -> FrameResult:
    h, w = size
    image = np.full((h, w, 3), 200, np.uint8)
    amap = np.full((h, w), 0.1, np.float32)
    if hot:
        amap[h // 4: h // 2, w // 4: w // 2] = 3.0
    now = time.time()
    verdict = Verdict.FAIL if score > 1.0 else Verdict.PASS
    return FrameResult("cam1", "p", index, now, now + 0.01, score, verdict, 0.5, 1.0, image, amap)


def test_bridge_draws_off_the_runtime_thread_coalesces_and_keeps_every_score(qtbot, monkeypatch):
    bridge = RuntimeBridge(max_side=960)
    woke, callers = [], []
    bridge.frame_ready.connect(lambda: woke.append(1))
    real_make = ui.bridge.make_live_frame

    def make(result, *args):
        callers.append(threading.current_thread().name)
        return real_make(result, *args)

    monkeypatch.setattr(ui.bridge, "make_live_frame", make)
    worker = threading.Thread(target=lambda: [bridge.on_frame(frame(i, 0.2, False)) for i in range(5)], name="inspection")
    worker.start()
    worker.join()
    shown = []
    while True:  # the UI takes pictures as it gets to them; each is the newest when drawn
        assert bridge.wait_idle()
        taken = bridge.take_frame()
        if taken is None:
            break
        shown.append(taken.frame_index)
        assert max(taken.image.shape[:2]) == 960 and taken.heat.shape == taken.image.shape[:2]
    assert shown == sorted(shown) and shown[-1] == 4  # the last frame is always shown...
    assert len(shown) + bridge.coalesced == 5 and bridge.coalesced >= 1  # ...the skipped ones counted
    assert set(callers) == {"bridge-picture"} and len(callers) == len(shown)  # skipped ones never drawn
    assert [p.frame_index for p in bridge.take_scores()] == [0, 1, 2, 3, 4]  # every score kept
    qtbot.waitUntil(lambda: len(woke) >= 1)
    assert len(woke) <= len(shown)  # at most one queued wake-up per picture
    bridge.close()
    bridge.on_frame(frame(5, 0.2, False))  # after close: ignored, no thread left drawing
    assert bridge.wait_idle() and bridge.take_frame() is None


def test_a_frame_that_cannot_be_drawn_is_logged_once_and_its_score_still_reaches_the_ui(qtbot, monkeypatch, caplog):
    bridge = RuntimeBridge()
    woke = []
    bridge.frame_ready.connect(lambda: woke.append(1))

    def broken(result, *args):
        raise ValueError("no picture")

    monkeypatch.setattr(ui.bridge, "make_live_frame", broken)
    with caplog.at_level("ERROR", logger="ui.bridge"):
        for i in range(4):
            bridge.on_frame(frame(i, 0.2, False))
            assert bridge.wait_idle()
        qtbot.waitUntil(lambda: bool(woke))
    assert bridge.draw_failures >= 1 and bridge.take_frame() is None
    assert len([r for r in caplog.records if "could not be drawn" in r.getMessage()]) == 1  # not one per frame
    assert [p.frame_index for p in bridge.take_scores()] == [0, 1, 2, 3]
    bridge.close()


def shown_with_a_failed_frame(qtbot) -> tuple[RuntimeBridge, LiveScreen]:
    """A visible live screen that has shown one failed 1920x1080 frame with a hot region."""
    bridge = RuntimeBridge()
    screen = LiveScreen(bridge)
    qtbot.addWidget(screen)
    screen.show()
    bridge.on_frame(frame(0, 1.8, hot=True))
    qtbot.waitUntil(lambda: screen.last_frame is not None)
    return bridge, screen


def test_live_camera_previews_show_beside_the_inspected_frame_never_over_it(qtbot):
    bridge, screen = shown_with_a_failed_frame(qtbot)
    inspected = screen.view.shown_image.copy()

    camera = np.zeros((1080, 1920, 3), np.uint8)
    camera[:, :960] = (10, 200, 30)  # a different part: left half green
    woke = []
    bridge.preview_ready.connect(lambda: woke.append(1))
    worker = threading.Thread(target=lambda: [bridge.on_preview(PreviewFrame("cam1", i, time.time(), camera, "x"))
                                              for i in range(1, 4)])
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: screen.previews_shown > 0)
    assert len(woke) == 1 and bridge.previews_coalesced == 2  # a burst is one wake-up, the newest wins
    assert screen.last_preview.frame_index == 3
    feed = screen.feed.shown_image
    assert max(feed.shape[:2]) == 640  # downscaled in the runtime thread, not the UI's
    assert (feed[:, :300] == (10, 200, 30)).all() and (feed[:, -300:] == 0).all()  # the raw picture, no heat
    assert np.array_equal(screen.view.shown_image, inspected)  # the heatmap stays on the frame it belongs to
    assert screen.feed_info.text() == "live camera: frame 3"


def test_defective_frame_overlay_hot_region_trend_and_alarm(qtbot):
    bridge, screen = shown_with_a_failed_frame(qtbot)
    f = screen.last_frame
    shown = screen.view.shown_image.astype(int)
    raw = f.image.astype(int)
    h, w = raw.shape[:2]
    hot = np.abs(shown[h // 4 + 5: h // 2 - 5, w // 4 + 5: w // 2 - 5] - raw[h // 4 + 5: h // 2 - 5, w // 4 + 5: w // 2 - 5])
    cold = np.abs(shown[-40:, -40:] - raw[-40:, -40:])
    assert hot.mean() > 40 and cold.max() == 0  # tinted where the map is hot, untouched elsewhere
    assert f.contours  # the region above T2 is outlined
    assert screen.badge.verdict is Verdict.FAIL
    assert (screen.trend.recent_scores() > screen.trend.t2_line.value()).any()

    bridge.on_alarm(AlarmEvent("cam1", "p", AlarmStatus.RAISED, time.time(), 1.8, 0, "2 consecutive fail(s)"))
    qtbot.waitUntil(screen.banner.isVisible)
    acks = []
    screen.acknowledge_requested.connect(lambda: acks.append(1))
    screen.banner.ack_button.click()
    assert acks
    bridge.on_alarm(AlarmEvent("cam1", "p", AlarmStatus.ACKNOWLEDGED, time.time()))
    qtbot.waitUntil(lambda: not screen.banner.isVisible())


def test_opacity_slider_reblends_and_zero_shows_raw_frame(qtbot):
    bridge = RuntimeBridge()
    screen = LiveScreen(bridge)
    qtbot.addWidget(screen)
    bridge.on_frame(frame(0, 1.8, hot=True, size=(240, 320)))
    qtbot.waitUntil(lambda: screen.last_frame is not None)
    screen.opacity.setValue(0)
    shown, raw = screen.view.shown_image, screen.last_frame.image
    outline = np.zeros(raw.shape[:2], np.uint8)
    cv2.polylines(outline, [c.reshape(-1, 1, 2).astype(np.int32) for c in screen.last_frame.contours], True, 1, 3)
    differs = (shown != raw).any(axis=2)
    assert differs.any() and not differs[outline == 0].any()  # only the contour lines remain


def test_reconnecting_is_shown_over_the_picture(qtbot):
    bridge = RuntimeBridge()
    screen = LiveScreen(bridge)
    qtbot.addWidget(screen)
    screen.show()
    bridge.on_camera_state(CameraState("cam1", CameraStatus.RECONNECTING, "connection refused"))
    qtbot.waitUntil(lambda: screen.view.state_text != "")
    assert screen.view.state_text == "RECONNECTING: connection refused"
    assert screen.feed.state_text == "RECONNECTING: connection refused"  # the live picture is never a frozen one
    assert screen.badge.verdict is None  # no stale verdict while the camera is away
    bridge.on_camera_state(CameraState("cam1", CameraStatus.CONNECTED))
    qtbot.waitUntil(lambda: screen.view.state_text == "")


def white_ink_columns(widget) -> np.ndarray:
    """x of every column with white (text) pixels in the upper 70 % of the widget (the title)."""
    image = widget.grab().toImage()
    w, h = image.width(), image.height()
    pixels = np.array(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, : w * 4].reshape(h, w, 4)
    white = pixels[: int(h * 0.7), :, :3].min(axis=2) > 200
    return np.where(white.any(axis=0))[0]


@pytest.mark.parametrize("width", [600, 353, 260])
def test_verdict_badge_title_shrinks_to_fit_and_stays_large(qtbot, width):
    badge = VerdictBadge()
    qtbot.addWidget(badge)
    badge.resize(width, 130)
    badge.show()
    badge.set_verdict(Verdict.UNCERTAIN, 7.46)  # the longest title
    qtbot.waitExposed(badge)
    full = QFontMetricsF(badge.title_font(TITLE_PT)).horizontalAdvance("UNCERTAIN")
    room = badge.contentsRect()
    if full < room.width() - 4:
        assert badge.title_pt == TITLE_PT  # no shrinking when it fits
    else:
        assert MIN_TITLE_PT < badge.title_pt < TITLE_PT
    ink = white_ink_columns(badge)
    advance = QFontMetricsF(badge.title_font(badge.title_pt)).horizontalAdvance("UNCERTAIN")
    assert room.left() < ink.min() and ink.max() < room.right()  # inside the padding, not cut at it
    assert ink.max() - ink.min() + 1 > 0.9 * advance  # the whole word is drawn ("UNCERTAI" was not)
    # The badge must not hold the side panel open at the 44 pt width.
    assert badge.minimumSizeHint().width() < full


def test_verdict_badge_refits_on_resize_and_text_change(qtbot):
    badge = VerdictBadge()
    qtbot.addWidget(badge)
    badge.resize(260, 130)
    badge.show()
    badge.set_verdict(Verdict.UNCERTAIN, 7.5)
    narrow = badge.title_pt
    badge.set_verdict(Verdict.FAIL, 12.0)  # short word: back to full size in the same width
    assert badge.title_pt == TITLE_PT > narrow
    badge.set_verdict(Verdict.UNCERTAIN, 7.5)
    badge.resize(700, 130)
    qtbot.waitUntil(lambda: badge.title_pt == TITLE_PT)


def delta_e(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CIE76 colour difference per pixel of two RGB uint8 images."""
    lab_a = cv2.cvtColor(a.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    lab_b = cv2.cvtColor(b.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    return np.linalg.norm(lab_a - lab_b, axis=-1)


@pytest.mark.parametrize("board", [255, 0], ids=["white board", "black copper"])
def test_overlay_marks_only_regions_above_t1_and_they_stand_out(board):
    t1, t2 = 7.09, 9.66  # the demo line's thresholds
    span = t2 - t1
    scores = [0.5 * t1, 0.99 * t1, t1, t1 + 0.1 * span, t1 + 0.5 * span, t2, t2 + 0.5 * span]
    image = np.full((1, len(scores), 3), board, np.uint8)
    amap = np.array([scores], np.float32)
    heat = overlay.normalise_map(amap, t1, t2)
    contrast = delta_e(overlay.compose_overlay(image, heat, 0.6), image)[0]
    assert (contrast[:3] == 0).all()  # at or below T1: the board as it is
    assert contrast[3] > 20  # a region that only just made the frame UNCERTAIN is visible...
    assert contrast[5] > 50 and contrast[6] > 50  # ...and fail-level heat is strong on white too (JET: 48)
    weight = overlay.blend_weight(heat)[0]
    assert (np.diff(weight) >= 0).all() and weight[5] == pytest.approx(1.0)  # full opacity from T2
    assert (overlay.compose_overlay(image, heat, 0.0) == image).all()


def test_status_bar_shows_each_output_state_from_the_bridge(qtbot):
    from resad_station.outputs import OutputState, OutputStatus
    from ui.status_bar import StationStatusBar

    bar = StationStatusBar()
    qtbot.addWidget(bar)
    bridge = RuntimeBridge()
    bridge.output_state.connect(bar.set_output_state)
    bridge.on_output_state(OutputStatus("mqtt", "mqtt", OutputState.CONNECTED, 120, 0, 0, 120))
    bridge.on_output_state(OutputStatus("plc", "modbus", OutputState.RECONNECTING, 7, 3, 2, 12, "connect: refused",
                                        rejects_late=1))
    qtbot.waitUntil(lambda: "plc" in bar.outputs.text(), timeout=30_000)
    text = bar.outputs.text()
    assert "mqtt 120/0" in text and "plc 7/3 late 1" in text
    assert "#e07000" in text and "refused" in bar.outputs.toolTip()
