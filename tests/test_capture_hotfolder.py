"""The hot folder source with real files written while it runs (watchdog events, real threads)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from resad_station.capture import CaptureWorker, CorruptFrameError, ReadTimeout, SourceError, open_source
from resad_station.capture.hotfolder import HotFolderSource
from resad_station.runtime.events import CameraStatus

DEMO_LINE = Path(__file__).resolve().parent.parent / "profiles" / "demo" / "line"


JPEG_DIR = Path(tempfile.mkdtemp(prefix="demo-jpeg-"))
atexit.register(shutil.rmtree, JPEG_DIR, True)


def demo(n: int) -> list[Path]:
    """The first n demo line frames as JPEG files: the demo ships lossless PNG, but hot-folder cameras
    mostly write JPEG, and a cut JPEG still decodes (what the half-written-file test is about)."""
    out = []
    for f in sorted(DEMO_LINE.glob("*.png"))[:n]:
        jpg = JPEG_DIR / f"{f.stem}.jpg"
        if not jpg.exists():
            assert cv2.imwrite(str(jpg), cv2.imread(str(f)))
        out.append(jpg)
    return out


def read_until_frame(src, limit: float = 10.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            return src.read(timeout=0.2)
        except ReadTimeout:
            continue
    raise AssertionError("no frame arrived")


def test_files_dropped_in_while_running_are_delivered_once_each(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    files = demo(5)
    shutil.copy(files[0], inbox / "before_start.jpg")  # already there: not a new part
    states = []
    worker = CaptureWorker(lambda: open_source("hotfolder", str(inbox)), "triggered", states.append, queue_size=2)
    worker.start()
    try:
        while CameraStatus.CONNECTED not in [s.status for s in states]:
            time.sleep(0.01)
        shutil.copy(files[1], inbox / "part_a.jpg")  # plain copy
        shutil.copy(files[2], inbox / ".part_b.jpg.tmp")  # the usual save-then-rename
        (inbox / ".part_b.jpg.tmp").rename(inbox / "part_b.jpg")
        shutil.copy(files[3], inbox / "part_c.png.txt")  # not an image name: ignored
        got = [worker.get(timeout=10) for _ in range(2)]
        (inbox / "part_a.jpg").write_bytes(files[1].read_bytes())  # re-saved, same bytes: not a new part
        shutil.copy(files[4], inbox / "part_d.jpg")
        got.append(worker.get(timeout=10))
        assert worker.get(timeout=0.8) is None  # nothing delivered twice
        shutil.copy(files[0], inbox / "part_a.jpg")  # a camera overwriting its file: a new part
        got.append(worker.get(timeout=10))
    finally:
        assert worker.stop(timeout=30)
    assert sorted(f.source_name for f in got[:2]) == ["part_a.jpg", "part_b.jpg"]
    assert got[2].source_name == "part_d.jpg" and got[3].source_name == "part_a.jpg" and worker.captured == 4
    want = cv2.cvtColor(cv2.imread(str(files[4])), cv2.COLOR_BGR2RGB)
    assert np.array_equal(got[2].image, want)


def test_a_half_written_file_is_not_read_before_it_is_complete(tmp_path):
    data = demo(1)[0].read_bytes()
    src = HotFolderSource(str(tmp_path), settle_s=0.1, corrupt_after_s=30)
    src.open()
    try:
        with open(tmp_path / "slow_writer.jpg", "wb") as fh:
            fh.write(data[: len(data) // 2])
            fh.flush()
            # the size has been stable for well over settle_s, and a cut JPEG still decodes;
            # only the missing end marker says "not finished"
            with pytest.raises(ReadTimeout):
                src.read(timeout=0.6)
            fh.write(data[len(data) // 2:])
        frame = read_until_frame(src)
    finally:
        src.close()
    assert frame.source_name == "slow_writer.jpg"
    want = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert np.array_equal(frame.image, want)  # the whole board, not half of it


def test_a_file_that_never_decodes_is_reported_corrupt_once(tmp_path):
    src = HotFolderSource(str(tmp_path), settle_s=0.05, corrupt_after_s=0.3)
    src.open()
    try:
        (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
        end = time.monotonic() + 10
        while True:
            assert time.monotonic() < end, "corrupt file never reported"
            try:
                src.read(timeout=0.2)
            except ReadTimeout:
                continue
            except CorruptFrameError as exc:
                assert "broken.png" in str(exc) and exc.file.endswith("broken.png")
                break
        shutil.copy(demo(1)[0], tmp_path / "next.jpg")
        assert read_until_frame(src).source_name == "next.jpg"  # broken.png is not retried
    finally:
        src.close()


def test_hot_folder_that_disappears_is_a_source_error_and_comes_back(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    states, cond = [], threading.Condition()

    def on_state(state):
        with cond:
            states.append(state)
            cond.notify_all()

    def wait_for(count, status):
        with cond:
            assert cond.wait_for(lambda: [s.status for s in states].count(status) >= count, 10), states

    worker = CaptureWorker(lambda: HotFolderSource(str(inbox), settle_s=0.05), "triggered", on_state, backoff=(0.05,))
    worker.start()
    try:
        wait_for(1, CameraStatus.CONNECTED)
        inbox.rename(tmp_path / "unmounted")
        wait_for(1, CameraStatus.RECONNECTING)
        (tmp_path / "unmounted").rename(inbox)
        wait_for(2, CameraStatus.CONNECTED)
        shutil.copy(demo(1)[0], inbox / "after.jpg")
        assert worker.get(timeout=10).source_name == "after.jpg"
    finally:
        assert worker.stop(timeout=30)
    assert "inbox" in states[2].reason
    with pytest.raises(SourceError, match="hotfolder '.*nowhere': cannot open \\(folder not found\\)"):
        open_source("hotfolder", str(tmp_path / "nowhere")).open()


def test_polling_mode_for_network_shares_sees_new_files(tmp_path):
    src = HotFolderSource(str(tmp_path), settle_s=0.05, polling=True)  # no inotify events on SMB/NFS
    src.open()
    try:
        shutil.copy(demo(1)[0], tmp_path / "from_share.jpg")
        assert read_until_frame(src).source_name == "from_share.jpg"
    finally:
        src.close()
