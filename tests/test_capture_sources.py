"""Camera sources over real files: video, folder, replay, stream (a real local HTTP server), errors."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from resad_station.capture import (CorruptFrameError, FolderSource, ReadTimeout, SourceError, open_source)

DEMO_LINE = Path(__file__).resolve().parent.parent / "profiles" / "demo" / "line"


def demo_images(n: int | None = None) -> list[Path]:
    files = sorted(DEMO_LINE.glob("*.png"))
    assert len(files) >= 30, "the shipped demo line images are missing"
    return files[:n] if n else files


def write_video(path: Path, files: list[Path], size: int = 320) -> list[np.ndarray]:
    """MJPG .avi from real images; returns the RGB frames that went in."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (size, size))
    assert writer.isOpened()
    frames = []
    for f in files:
        bgr = cv2.resize(cv2.imread(str(f)), (size, size), interpolation=cv2.INTER_AREA)
        writer.write(bgr)
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    writer.release()
    return frames


def read_all(source, limit: int = 1000) -> list:
    out = []
    while len(out) < limit:
        frame = source.read()
        if frame is None:
            return out
        out.append(frame)
    raise AssertionError("source did not end")


def test_video_file_plays_end_to_end_with_every_frame(tmp_path):
    files = demo_images()
    written = write_video(tmp_path / "line.avi", files)
    with open_source("video", "line.avi", base_dir=tmp_path) as src:
        frames = read_all(src)
        assert src.read() is None  # stays ended
    assert len(frames) == len(files)
    assert [f.index for f in frames] == list(range(len(files)))
    assert frames[3].source_name == "line.avi#3"
    for got, want in zip(frames, written):
        assert got.image.shape == (320, 320, 3) and got.image.dtype == np.uint8
        # MJPG is lossy, but each decoded frame must be its own board, not a neighbour's
        assert np.abs(got.image.astype(int) - want).mean() < 12
    assert np.abs(frames[0].image.astype(int) - written[1]).mean() > 20


def test_video_loops_and_resumes_after_reopen(tmp_path):
    write_video(tmp_path / "short.avi", demo_images(4), size=64)
    src = open_source("video", str(tmp_path / "short.avi"), loop=True)
    src.open()
    first = [src.read() for _ in range(3)]
    src.close()
    src.open()  # the worker reopens the same object after a failure: no frame twice
    rest = [src.read() for _ in range(7)]
    src.close()
    names = [f.source_name for f in first + rest]
    assert names == [f"short.avi#{i % 4}" for i in range(10)]
    assert [f.index for f in first + rest] == list(range(10))


def test_folder_natural_sort_loop_and_pixel_formats(tmp_path):
    gray = cv2.imread(str(demo_images(1)[0]), cv2.IMREAD_GRAYSCALE)[:64, :64]
    rgba = np.dstack([gray, gray // 2, gray // 4, np.full_like(gray, 128)])  # BGRA on disk
    deep = gray.astype(np.uint16) * 257  # 16-bit
    cv2.imwrite(str(tmp_path / "img10.png"), deep)
    cv2.imwrite(str(tmp_path / "img2.png"), rgba)
    cv2.imwrite(str(tmp_path / "img1.png"), gray)
    (tmp_path / "notes.txt").write_text("not an image")
    src = FolderSource(str(tmp_path), loop=True)
    src.open()
    frames = [src.read() for _ in range(5)]
    assert [f.source_name for f in frames] == ["img1.png", "img2.png", "img10.png", "img1.png", "img2.png"]
    for f in frames:
        assert f.image.shape == (64, 64, 3) and f.image.dtype == np.uint8
    assert np.array_equal(frames[0].image[:, :, 1], gray)  # gray -> all channels
    assert np.array_equal(frames[1].image[:, :, 0], gray // 4)  # BGRA -> RGB: red was stored last
    assert np.array_equal(frames[2].image[:, :, 0], gray)  # 16-bit scaled by its full range


def test_folder_corrupt_file_is_an_error_naming_the_file_and_the_folder_goes_on(tmp_path):
    good = demo_images(2)
    shutil.copy(good[0], tmp_path / "0001.png")
    (tmp_path / "0002.png").write_bytes(good[1].read_bytes()[:200] + b"garbage")
    (tmp_path / "0003.png").write_bytes(b"")
    shutil.copy(good[1], tmp_path / "0004.png")
    src = open_source("folder", str(tmp_path))
    src.open()
    assert src.read().source_name == "0001.png"
    for bad in ("0002.png", "0003.png"):
        with pytest.raises(CorruptFrameError, match=bad) as info:
            src.read()
        assert info.value.file.endswith(bad)
    assert src.read().source_name == "0004.png"
    assert src.read() is None


def test_replay_is_paced_in_order_and_a_timeout_loses_no_frame(tmp_path):
    for f in demo_images(6):
        shutil.copy(f, tmp_path / f.name)
    slow = open_source("replay", str(tmp_path), fps=0.2)  # a part every 5 s: a loaded machine never reaches it
    slow.open()
    assert slow.read().index == 0
    with pytest.raises(ReadTimeout):
        slow.read(timeout=0.01)  # the next part is not due yet
    slow.close()
    src = open_source("replay", str(tmp_path), fps=4)
    assert src.is_live
    src.open()
    got = [src.read()]
    got += read_all(src)
    assert [f.source_name for f in got] == [f.name for f in demo_images(6)]
    assert [f.index for f in got] == list(range(6))
    # paced on a monotonic schedule: never faster than fps (a lower bound only; slow machines are fine)
    assert got[-1].captured_at - got[0].captured_at >= 5 / 4 - 0.02


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


def test_stream_over_http_reads_frames_then_reports_the_lost_connection(tmp_path):
    write_video(tmp_path / "cam.avi", demo_images(5), size=64)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        src = open_source("stream", f"http://127.0.0.1:{server.server_port}/cam.avi")
        src.open()
        frames = [src.read() for _ in range(5)]
        assert [f.image.shape for f in frames] == [(64, 64, 3)] * 5
        with pytest.raises(SourceError, match="stream ended unexpectedly"):
            src.read()  # a camera stream has no normal end
        src.close()
        with pytest.raises(SourceError, match="cannot open stream"):
            open_source("stream", f"http://127.0.0.1:{server.server_port}/missing.avi").open()
    finally:
        server.shutdown()


def test_clear_errors_for_missing_device_file_folder_and_bad_options(tmp_path):
    with pytest.raises(SourceError, match=r"device '57': cannot open camera"):
        open_source("device", 57).open()
    with pytest.raises(SourceError, match=r"video '.*nope\.mp4': cannot open \(file not found\)"):
        open_source("video", "nope.mp4", base_dir=tmp_path).open()
    (tmp_path / "fake.mp4").write_bytes(b"not a video")
    with pytest.raises(SourceError, match=r"fake\.mp4': cannot open \(not a video"):
        open_source("video", str(tmp_path / "fake.mp4")).open()
    with pytest.raises(SourceError, match=r"folder '.*gone': cannot open \(folder not found\)"):
        open_source("folder", str(tmp_path / "gone")).open()
    with pytest.raises(SourceError, match="no image files"):
        open_source("replay", str(tmp_path)).open()
    with pytest.raises(SourceError, match="unknown source kind"):
        open_source("webcam", "0")
    with pytest.raises(SourceError, match="not a stream URL"):
        open_source("stream", "camera.local")
    with pytest.raises(SourceError, match="unknown camera setting 'shutter'"):
        open_source("device", "0", settings={"shutter": 5})
    with pytest.raises(SourceError, match="fps must be a positive number"):
        open_source("replay", str(tmp_path), fps=0)


def test_files_report_camera_settings_as_unsupported(tmp_path):
    shutil.copy(demo_images(1)[0], tmp_path / "a.png")
    src = open_source("folder", str(tmp_path), settings={"exposure": 800, "trigger": "Line1"})
    src.open()
    assert src.settings_report == {"exposure": "unsupported", "trigger": "unsupported"}
    assert src.apply_settings(gain=2.0) == {"gain": "unsupported"}


def test_stream_errors_hide_the_password():
    src = open_source("stream", "rtsp://admin:s3cret@127.0.0.1:1/live")
    with pytest.raises(SourceError) as info:
        src.open()
    assert "s3cret" not in str(info.value) and "admin:***@" in str(info.value)
