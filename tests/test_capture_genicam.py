"""The GenICam adapter through the FrameSource interface.

No GenICam camera (or vendor .cti producer) exists here, so the harvesters objects are replaced by a
fake that mimics the part of the harvesters 1.4 API the adapter uses; this is the only fake in the
capture tests. The pixel data it serves are real images.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from resad_station.capture import CaptureWorker, GenICamSource, ReadTimeout, SourceError, open_source
from resad_station.runtime.events import CameraStatus

DEMO_LINE = Path(__file__).resolve().parent.parent / "profiles" / "demo" / "line"


class TimeoutException(Exception):
    """Named like genicam.gentl.TimeoutException, which harvesters raises when fetch() times out."""


class Node:
    def __init__(self, value=None, allowed=None):
        self.value_ = value
        self.allowed = allowed
        self.executed = 0

    @property
    def value(self):
        return self.value_

    @value.setter
    def value(self, v):
        if self.allowed is not None and v not in self.allowed:
            raise ValueError(f"{v!r} is not an allowed entry")
        self.value_ = v

    def execute(self):
        self.executed += 1


class NodeMap:
    def __init__(self):
        self.ExposureTime = Node(1000.0)
        self.GainRaw = Node(0)  # an older camera: no SFNC "Gain" node
        self.TriggerSelector = Node("FrameStart", {"FrameStart"})
        self.TriggerMode = Node("Off", {"On", "Off"})
        self.TriggerSource = Node("Software", {"Software", "Line1"})
        self.TriggerSoftware = Node()


class Component:
    def __init__(self, data, width, height, data_format):
        self.data, self.width, self.height, self.data_format = data, width, height, data_format


class Buffer:
    def __init__(self, component, acquirer):
        self.payload = type("Payload", (), {"components": [component]})()
        self._acquirer = acquirer

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._acquirer.queued_back += 1  # harvesters queues the buffer back here
        return False


class Acquirer:
    def __init__(self, frames, fail_after=None):
        self.remote_device = type("Device", (), {"node_map": NodeMap()})()
        self.frames = frames  # list of (1-D data, width, height, format)
        self.fail_after = fail_after
        self.fetched = 0
        self.queued_back = 0
        self.running = False
        self.calls: list[str] = []

    def start(self):
        self.running = True
        self.calls.append("start")

    def stop(self):
        self.running = False
        self.calls.append("stop")

    def destroy(self):
        self.calls.append("destroy")

    def fetch(self, *, timeout=0):
        assert self.running, "fetch before start"
        if self.fail_after is not None and self.fetched == self.fail_after:
            self.fail_after = None  # the cable comes back
            raise RuntimeError("GenTL error: device lost")
        if self.fetched >= len(self.frames):
            raise TimeoutException(f"no buffer within {timeout} s")
        data, w, h, fmt = self.frames[self.fetched]
        self.fetched += 1
        return Buffer(Component(data, w, h, fmt), self)


class Harvester:
    def __init__(self, acquirer, devices=1):
        self.acquirer = acquirer
        self.files: list[str] = []
        self.device_info_list: list[dict] = []
        self.devices = devices
        self.created_with = None
        self.resets = 0

    def add_file(self, path):
        self.files.append(path)

    def update(self):
        self.device_info_list = [{"serial_number": f"SN{i}"} for i in range(self.devices)]

    def create(self, search_key=None):
        self.created_with = search_key
        return self.acquirer

    def reset(self):
        self.resets += 1


# a 96x128 window of the demo board with copper traces in it (the corners are plain white)
WINDOW = (slice(252, 348), slice(236, 364))


def mono_frames(n):
    out = []
    for f in sorted(DEMO_LINE.glob("*.png"))[:n]:
        gray = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)[WINDOW]
        out.append((gray.ravel(), 128, 96, "Mono8"))
    return out


@pytest.fixture
def cti(tmp_path):
    path = tmp_path / "vendor_producer.cti"
    path.write_bytes(b"\x7fELF placeholder: the adapter only passes the path to harvesters")
    return path


def test_genicam_frames_settings_and_close_through_the_interface(cti):
    acq = Acquirer(mono_frames(3))
    h = Harvester(acq)
    src = GenICamSource(f"{cti}#serial=SN0", settings={"exposure": 2500, "gain": 3, "trigger": "Line1"},
                        harvester_factory=lambda: h)
    src.open()
    assert h.files == [str(cti)] and h.created_with == {"serial_number": "SN0"}
    nm = acq.remote_device.node_map
    assert src.settings_report == {"exposure": "applied", "gain": "applied", "trigger": "applied"}
    assert (nm.ExposureTime.value, nm.GainRaw.value, nm.TriggerMode.value, nm.TriggerSource.value) == (2500, 3, "On", "Line1")
    assert acq.calls == ["start"]  # settings went in before streaming started
    frames = [src.read(timeout=0.1) for _ in range(3)]
    want = cv2.imread(str(sorted(DEMO_LINE.glob("*.png"))[1]), cv2.IMREAD_GRAYSCALE)[WINDOW]
    assert want.std() > 50  # the comparison below could fail: the window is not blank
    assert frames[1].image.shape == (96, 128, 3) and np.array_equal(frames[1].image[:, :, 2], want)
    assert [f.index for f in frames] == [0, 1, 2] and acq.queued_back == 3
    with pytest.raises(ReadTimeout):
        src.read(timeout=0.05)
    assert src.apply_settings(trigger="Line7") == {"trigger": "TriggerSource rejected 'Line7' (ValueError: 'Line7' is not an allowed entry)"}
    src.close()
    assert acq.calls == ["start", "stop", "destroy"] and h.resets == 1


def test_genicam_software_trigger_fires_once_per_frame(cti):
    acq = Acquirer(mono_frames(2))
    src = GenICamSource(str(cti), settings={"trigger": "software"}, harvester_factory=lambda: Harvester(acq))
    src.open()
    src.read(timeout=0.1)
    src.read(timeout=0.1)
    assert acq.remote_device.node_map.TriggerSoftware.executed == 2


def test_genicam_pixel_formats_bayer_and_12_bit(cti, rgb_texture):
    rgb = rgb_texture
    h, w, _ = rgb.shape
    bayer = np.zeros((h, w), np.uint8)  # BayerRG: R G / G B
    bayer[0::2, 0::2], bayer[0::2, 1::2] = rgb[0::2, 0::2, 0], rgb[0::2, 1::2, 1]
    bayer[1::2, 0::2], bayer[1::2, 1::2] = rgb[1::2, 0::2, 1], rgb[1::2, 1::2, 2]
    mono12 = (rgb[:, :, 1].astype(np.uint32) * 4095 // 255).astype(np.uint16)
    acq = Acquirer([(bayer.ravel(), w, h, "BayerRG8"), (mono12.ravel(), w, h, "Mono12"),
                    (rgb.ravel(), w, h, "YUV422_8")])
    src = GenICamSource(str(cti), harvester_factory=lambda: Harvester(acq))
    src.open()
    demosaiced = src.read(timeout=0.1).image
    assert np.abs(demosaiced.astype(int) - rgb).mean() < 15  # colours right, red not swapped with blue
    assert np.abs(demosaiced[:, :, ::-1].astype(int) - rgb).mean() > 25
    mono = src.read(timeout=0.1).image
    assert np.abs(mono[:, :, 0].astype(int) - rgb[:, :, 1]).max() <= 1  # 12-bit scaled by 4095, not 65535
    with pytest.raises(SourceError, match="unsupported pixel format 'YUV422_8'"):
        src.read(timeout=0.1)


def test_genicam_device_lost_mid_stream_reconnects_in_the_worker(cti):
    acq = Acquirer(mono_frames(6), fail_after=2)
    h = Harvester(acq)
    seen, cond = [], threading.Condition()

    def on_state(state):
        with cond:
            seen.append(state)
            cond.notify_all()

    worker = CaptureWorker(lambda: GenICamSource(str(cti), harvester_factory=lambda: h), "triggered", on_state,
                           backoff=(0.01,))
    worker.start()
    frames = [worker.get(timeout=5) for _ in range(6)]
    assert worker.stop(timeout=30)
    assert [f.index for f in frames] == list(range(6))
    statuses = [s.status for s in seen]
    assert statuses == [CameraStatus.CONNECTING, CameraStatus.CONNECTED, CameraStatus.RECONNECTING,
                        CameraStatus.CONNECTED, CameraStatus.STOPPED]
    assert "device lost" in seen[2].reason
    assert acq.calls[:4] == ["start", "stop", "destroy", "start"]  # closed and reopened, not leaked


def test_genicam_clear_errors(cti, tmp_path):
    no_camera = GenICamSource(str(cti), harvester_factory=lambda: Harvester(Acquirer([]), devices=0))
    with pytest.raises(SourceError, match="no GenICam camera found"):
        no_camera.open()
    with pytest.raises(SourceError, match="producer '.*missing.cti' not found"):
        GenICamSource(str(tmp_path / "missing.cti"), harvester_factory=lambda: Harvester(Acquirer([]))).open()
    with pytest.raises(SourceError, match="bad camera selector"):
        GenICamSource(f"{cti}#mac=00:11", harvester_factory=lambda: Harvester(Acquirer([]))).open()


@pytest.mark.skipif(importlib.util.find_spec("harvesters") is not None, reason="harvesters is installed here")
def test_genicam_without_harvesters_says_what_to_install(cti):
    with pytest.raises(SourceError, match=r"genicam '.*vendor_producer.cti': the 'harvesters' package is not installed"):
        open_source("genicam", str(cti)).open()
