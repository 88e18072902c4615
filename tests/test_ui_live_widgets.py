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
    Verdict,
)
from ui.bridge import RuntimeBridge  # noqa: E402
from ui.live_screen import LiveScreen  # noqa: E402


def frame(index: int, score: float, hot: bool, size=(1080, 1920)) -> FrameResult:
    h, w = size
    image = np.full((h, w, 3), 200, np.uint8)
    amap = np.full((h, w), 0.1, np.float32)
    if hot:
        amap[h // 4: h // 2, w // 4: w // 2] = 3.0
    now = time.time()
    verdict = Verdict.FAIL if score > 1.0 else Verdict.PASS
    return FrameResult("cam1", "p", index, now, now + 0.01, score, verdict, 0.5, 1.0, image, amap)


def test_bridge_downscales_and_coalesces_but_keeps_every_score(qtbot):
    bridge = RuntimeBridge(max_side=960)
    woke = []
    bridge.frame_ready.connect(lambda: woke.append(1))
    worker = threading.Thread(target=lambda: [bridge.on_frame(frame(i, 0.2, False)) for i in range(5)])
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(woke))
    taken = bridge.take_frame()
    assert taken.frame_index == 4  # only the newest is shown...
    assert max(taken.image.shape[:2]) == 960 and taken.heat.shape == taken.image.shape[:2]
    assert bridge.coalesced == 4  # ...and the skipped ones are counted
    assert [p.frame_index for p in bridge.take_scores()] == [0, 1, 2, 3, 4]
    assert len(woke) == 1  # one queued wake-up for the burst, not five
    assert bridge.take_frame() is None


def test_defective_frame_overlay_hot_region_trend_and_alarm(qtbot):
    bridge = RuntimeBridge()
    screen = LiveScreen(bridge)
    qtbot.addWidget(screen)
    screen.show()
    bridge.on_frame(frame(0, 1.8, hot=True))
    qtbot.waitUntil(lambda: screen.last_frame is not None)
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
    assert screen.badge.verdict is None  # no stale verdict while the camera is away
    bridge.on_camera_state(CameraState("cam1", CameraStatus.CONNECTED))
    qtbot.waitUntil(lambda: screen.view.state_text == "")
