"""Hostile and broken inputs: pixel bombs, huge and elongated frames, empty and truncated files,
profiles that nest or expand without bound, folders deleted and copied back. Each is refused once,
with its name and why, and the line goes on."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from resad_station.capture import CaptureWorker, FolderSource
from resad_station.capture.decode import ImageDecodeError, _decoder_messages, decode_image_bytes, read_image_file
from resad_station.checks.folder_recovery import run_cycles
from resad_station.checks.fuzz_inputs import (bmp_claiming, malformed_images, malformed_profiles, png_claiming,
                                              run_images, run_profiles)
from resad_station.enrollment.quality import load_shots
from resad_station.profiles import ProfileError, validate_profile_text
from resad_station.runtime.events import CameraStatus

REPO = Path(__file__).resolve().parent.parent
DEMO_LINE = REPO / "profiles" / "demo" / "line"
GOOD = sorted(DEMO_LINE.glob("*.png"))
PROFILE_HEAD = "name: x\nproduct: y\ncamera: {kind: folder, uri: .}\n"


def drain(worker: CaptureWorker, limit: float = 30.0) -> list:
    got, end = [], time.monotonic() + limit
    while not worker.done:
        assert time.monotonic() < end, "worker did not finish"
        got += worker.get_many(4, timeout=0.2)
    return got


@pytest.mark.parametrize("bomb", [png_claiming(100_000, 100_000), bmp_claiming(100_000, 100_000)],
                         ids=["png", "bmp"])
def test_a_pixel_bomb_is_reported_once_and_the_files_after_it_are_inspected(tmp_path, bomb):
    ext = ".png" if bomb.startswith(b"\x89PNG") else ".bmp"
    assert len(bomb) < 200
    shutil.copy(GOOD[0], tmp_path / "01.png")
    (tmp_path / f"02{ext}").write_bytes(bomb)
    shutil.copy(GOOD[1], tmp_path / "03.png")
    skipped = []
    worker = CaptureWorker(lambda: FolderSource(str(tmp_path)), "triggered", lambda s: None,
                           backoff=(0.02,), on_skip=skipped.append)
    worker.start()
    frames = drain(worker)
    assert [f.source_name for f in frames] == ["01.png", "03.png"]
    assert len(skipped) == 1 and f"02{ext}" in str(skipped[0]) and "too large" in str(skipped[0])
    assert worker.status == CameraStatus.FINISHED


def test_size_guard_refuses_from_the_header_and_follows_the_profile_limit(tmp_path):
    with pytest.raises(ImageDecodeError, match=r"claims 400 MP, the limit is 50 MP"):
        decode_image_bytes(png_claiming(20_000, 20_000))
    with pytest.raises(ImageDecodeError, match=r"8000 x 8000 px = 64 MP, the limit is 50 MP"):
        decode_image_bytes(png_claiming(8000, 8000))
    with pytest.raises(ImageDecodeError, match="too elongated: 100 x 10000"):
        decode_image_bytes(png_claiming(100, 10_000))
    frame = cv2.imread(str(GOOD[0]))
    data = cv2.imencode(".png", frame)[1].tobytes()
    assert decode_image_bytes(data).shape == frame.shape
    with pytest.raises(ImageDecodeError, match="the limit is 0.01 MP"):
        decode_image_bytes(data, max_megapixels=0.01)
    profile = validate_profile_text(PROFILE_HEAD.replace("uri: .}", "uri: ., max_megapixels: 12}"), "p.yaml")
    assert profile.camera.max_megapixels == 12
    assert validate_profile_text(PROFILE_HEAD, "p.yaml").camera.max_megapixels == 50


def test_a_camera_frame_over_the_limit_is_skipped_alone(tmp_path):
    for i, f in enumerate(GOOD[:3]):
        shutil.copy(f, tmp_path / f"{i:02d}.png")

    def small_limit_source():
        source = FolderSource(str(tmp_path))
        source.max_megapixels = 0.01  # every demo frame is larger
        return source

    skipped = []
    worker = CaptureWorker(small_limit_source, "triggered", lambda s: None, on_skip=skipped.append)
    worker.start()
    assert drain(worker) == [] and len(skipped) == 3 and "00.png" in str(skipped[0])


def test_empty_missing_and_truncated_files_say_what_they_are(tmp_path, capfd):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    jpg = tmp_path / "cut.jpg"
    jpg.write_bytes(cv2.imencode(".jpg", cv2.imread(str(GOOD[0])))[1].tobytes()[:3000])
    shots, rejects = load_shots([empty, tmp_path / "nowhere.png", jpg, GOOD[0]])
    reasons = {Path(r.name).name: r.reason for r in rejects}
    assert len(shots) == 1
    assert reasons["empty.png"] == "empty file (0 bytes)"
    assert reasons["nowhere.png"] == "does not exist"
    assert reasons["cut.jpg"] == "does not decode: truncated JPEG (no end-of-image marker)"
    with pytest.raises(FileNotFoundError):
        read_image_file(tmp_path / "nowhere.png")
    assert "Corrupt JPEG" not in capfd.readouterr().err  # libjpeg never spoke without a file name


def test_corrupt_jpeg_data_is_attributed_to_the_file(tmp_path, capfd):
    data = bytearray(cv2.imencode(".jpg", cv2.imread(str(GOOD[0])))[1].tobytes())
    start = data.index(b"\xff\xda") + 20  # inside the entropy-coded scan
    data[start:start + 400] = b"\xff\x00" * 200 + b"\x00" * 0
    data[start + 400:start + 402] = b"\xff\xd0"  # an unexpected restart marker
    (tmp_path / "bad.jpg").write_bytes(bytes(data))
    _, rejects = load_shots([tmp_path / "bad.jpg"])
    assert len(rejects) == 1 and "Corrupt JPEG data" in rejects[0].reason
    assert "Corrupt JPEG" not in capfd.readouterr().err


def test_what_others_print_while_a_frame_decodes_still_reaches_stderr(capfd):
    # fd 2 is the process's: the GUI's "Ctrl-C: closing the window" was lost while a camera decoded
    box: list[str] = []
    with _decoder_messages(box):
        other = threading.Thread(target=lambda: print("Ctrl-C: closing the window", file=sys.stderr, flush=True))
        other.start()
        other.join()
        os.write(2, b"Corrupt JPEG data: 12 extraneous bytes before marker 0xd9\n")
        os.write(2, b"This plugin does not support propagateSizeHints()\n")
    err = capfd.readouterr().err
    assert box == ["Corrupt JPEG data: 12 extraneous bytes before marker 0xd9"]
    assert "Ctrl-C: closing the window\n" in err and "propagateSizeHints()\n" in err and "Corrupt" not in err


@pytest.mark.parametrize("text, expected", [
    ("{" * 5000, "nested more than 32 levels"),
    ("- " * 5000, "nested more than 32 levels"),
    ("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
     "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
     "expands to more than"),
    (PROFILE_HEAD + "engine: {input_size: 1099511627776}\n", "engine.input_size: input should be less than"),
    (PROFILE_HEAD + "recording: {queue_size: 1000000000000000000}\n", "recording.queue_size: input should be less"),
    (PROFILE_HEAD.replace("uri: .}", "uri: ., fps: 1.0e+308}"), "camera.fps: input should be less than"),
    (PROFILE_HEAD + "thresholds: {mode: manual, t_uncertain: 1.0e+300, t_fail: 2.0e+300}\n", "thresholds.t_uncertain"),
])
def test_hostile_profiles_are_refused_with_a_clear_error(text, expected):
    with pytest.raises(ProfileError, match=expected):
        validate_profile_text(text, "evil.yaml")


def test_profiles_check_refuses_a_billion_laughs_file_quickly(tmp_path):
    laughs = "l0: &l0 [" + ", ".join(["lol"] * 10) + "]\n"
    for i in range(1, 9):
        laughs += f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n"
    path = tmp_path / "laughs.yaml"
    path.write_text(PROFILE_HEAD + laughs)
    for action in ("check", "show"):
        run = subprocess.run([sys.executable, "-m", "resad_station", "--data-dir", str(tmp_path / "d"), "profiles",
                              action, str(path)], capture_output=True, text=True, timeout=120, cwd=REPO)
        assert run.returncode == 1 and "expands to more than" in run.stderr + run.stdout, run.stderr
        assert "Traceback" not in run.stderr


def test_fuzzed_images_and_profiles_end_in_a_clean_error_never_a_traceback(tmp_path):
    # a sample of what `python -m resad_station.checks.fuzz_inputs` runs in full (docs/benchmarks.md)
    (tmp_path / "i").mkdir()
    (tmp_path / "p").mkdir()
    images, notes = run_images(malformed_images(60, seed=3), tmp_path / "i")
    profiles, pnotes = run_profiles(malformed_profiles(40, seed=3), tmp_path / "p")
    assert images["traceback"] == images["hang"] == 0, notes
    assert profiles["traceback"] == profiles["hang"] == 0, pnotes
    assert images["clean"] >= 40 and profiles["clean"] >= 30


def test_a_folder_deleted_and_copied_back_half_written_recovers_and_does_not_flap(tmp_path):
    report = run_cycles(2, gone_s=1.0, backoff=(0.05, 0.1, 0.2, 0.4), deadline_s=60.0, files=GOOD[:4],
                        workdir=tmp_path, partial_s=0.5)
    assert report["recovered"] == 2, report
    # with the backoff the state changes a handful of times while the folder is gone, not 8 per second
    assert report["state_changes_while_gone"]["max"] <= 6, report


def test_cli_warnings_read_like_every_other_message(tmp_path):
    from resad_station.cli.main import PlainFormatter

    record = logging.LogRecord("resad_station.capture.worker", logging.WARNING, __file__, 1,
                               "folder 'x': file 'a.png' skipped: empty file (0 bytes)", None, None)
    assert PlainFormatter().format(record) == "warning: folder 'x': file 'a.png' skipped: empty file (0 bytes)"
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = PlainFormatter().format(record)
    assert "Traceback" not in line and line.endswith("ValueError: boom (-vv shows the traceback)")
    assert "Traceback" in PlainFormatter(tracebacks=True).format(record)


def test_fps_is_frames_over_wall_clock_time_even_when_a_batch_lands_at_once():
    from resad_station.runtime.events import Verdict
    from resad_station.runtime.metrics import RollingMetrics

    metrics = RollingMetrics("cam1", window_s=5.0, started_at=1000.0)
    for i in range(4):  # one batch of 4, decided within a millisecond, after a 3 s starved stretch
        metrics.record(1003.0 + i * 1e-4, 3000.0, Verdict.PASS)
    snap = metrics.snapshot(now=1003.001, frames_captured=4, frames_dropped=0, recorder_skipped=0, alarm_active=False)
    assert abs(snap.fps - 4 / 3.001) < 1e-6  # was (4 - 1) / 0.0003 s = 10000 fps
    later = metrics.snapshot(now=1010.0, frames_captured=4, frames_dropped=0, recorder_skipped=0, alarm_active=False)
    assert later.fps == 0.0  # nothing decided in the last 5 s


def test_a_hot_folder_reports_a_pixel_bomb_once_and_takes_the_next_file(tmp_path):
    from resad_station.capture import HotFolderSource
    from resad_station.capture.base import ReadTimeout

    source = HotFolderSource(str(tmp_path), settle_s=0.05, corrupt_after_s=0.3)
    source.open()
    try:
        (tmp_path / "bomb.png").write_bytes(png_claiming(100_000, 100_000))
        shutil.copy(GOOD[0], tmp_path / "next.png")
        skipped, frames, end = [], [], time.monotonic() + 30
        while not (frames and skipped):  # the good file does not wait for the bad one
            assert time.monotonic() < end, f"nothing delivered; skipped {skipped}"
            try:
                frame = source.read(timeout=0.2)
            except ReadTimeout:
                continue
            except Exception as exc:  # noqa: BLE001 (the test collects what the worker would skip)
                skipped.append(exc)
                continue
            frames.append(frame)
        assert [f.source_name for f in frames] == ["next.png"]
        with pytest.raises(ReadTimeout):
            source.read(timeout=1.0)  # the bomb is not retried
    finally:
        source.close()
    assert [type(e).__name__ for e in skipped] == ["CorruptFrameError"]
    assert "bomb.png" in str(skipped[0]) and "too large" in str(skipped[0])


def test_a_camera_frame_over_the_limit_is_skipped_by_the_capture_worker(tmp_path):
    from resad_station.capture import open_source
    from station_helpers import write_line_video

    video = write_line_video(tmp_path / "line.avi", GOOD[:3])

    def small_limit_video():
        source = open_source("video", str(video))
        source.max_megapixels = 0.01  # the demo frames are ~0.07 MP
        return source

    skipped = []
    worker = CaptureWorker(small_limit_video, "triggered", lambda s: None, on_skip=skipped.append)
    worker.start()
    assert drain(worker) == [] and len(skipped) == 3 and "the limit is 0.01 MP" in str(skipped[0])


def test_the_review_screens_picture_reader_refuses_a_pixel_bomb_in_the_store(tmp_path):
    """Thumbnails and the Review detail read stored files through the same guarded decoder."""
    from ui.thumbnail_loader import read_rgb

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(100_000, 100_000))
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), np.full((40, 60, 3), (10, 20, 200), np.uint8))  # BGR on disk
    assert read_rgb(bomb) is None and read_rgb(tmp_path / "missing.png") is None
    rgb = read_rgb(good)
    assert rgb.shape == (40, 60, 3) and tuple(rgb[0, 0]) == (200, 20, 10)  # RGB in memory
