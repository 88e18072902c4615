"""The capture worker with real sources on real threads: no drops in triggered mode, counted drops in
live mode, reconnect after a failure, corrupt files skipped, prompt stop()."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import cv2
import pytest

from resad_station.capture import CaptureWorker, FolderSource, open_source
from resad_station.runtime.events import CameraStatus

DEMO_LINE = Path(__file__).resolve().parent.parent / "profiles" / "demo" / "line"
FAST = (0.02, 0.05, 0.1)


def demo_copy(folder: Path, n: int | None = None) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    files = sorted(DEMO_LINE.glob("*.png"))[:n] if n else sorted(DEMO_LINE.glob("*.png"))
    for f in files:
        shutil.copy(f, folder / f.name)
    return [f.name for f in files]


class States:
    """Collects CameraState events from the capture thread; wait_for() blocks until one arrives."""

    def __init__(self) -> None:
        self.seen: list = []
        self._cond = threading.Condition()

    def __call__(self, state) -> None:
        with self._cond:
            self.seen.append(state)
            self._cond.notify_all()

    @property
    def statuses(self) -> list[CameraStatus]:
        return [s.status for s in self.seen]

    def wait_for(self, status: CameraStatus, timeout: float = 10.0):
        with self._cond:
            assert self._cond.wait_for(lambda: status in self.statuses, timeout), f"no {status}: {self.statuses}"
            return next(s for s in self.seen if s.status == status)


def drain(worker: CaptureWorker, limit: float = 20.0, delay: float = 0.0) -> list:
    got, end = [], time.monotonic() + limit
    while not worker.done:
        assert time.monotonic() < end, "worker did not finish"
        batch = worker.get_many(4, timeout=0.2)
        got += batch
        if batch and delay:
            time.sleep(delay)
    return got


def test_video_through_the_worker_delivers_every_frame_then_finishes(tmp_path):
    files = sorted(DEMO_LINE.glob("*.png"))
    writer = cv2.VideoWriter(str(tmp_path / "line.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 160))
    for f in files:
        writer.write(cv2.resize(cv2.imread(str(f)), (160, 160)))
    writer.release()
    states = States()
    worker = CaptureWorker(lambda: open_source("video", "line.avi", base_dir=tmp_path), "triggered", states, queue_size=4)
    worker.start()
    frames = drain(worker)
    assert len(frames) == len(files) == worker.captured
    assert [f.source_name for f in frames] == [f"line.avi#{i}" for i in range(len(files))]
    assert states.statuses == [CameraStatus.CONNECTING, CameraStatus.CONNECTED, CameraStatus.FINISHED]
    assert worker.stop(timeout=30)


def test_triggered_mode_never_drops_even_with_a_slow_consumer(tmp_path):
    names = demo_copy(tmp_path / "line")
    worker = CaptureWorker(lambda: open_source("folder", str(tmp_path / "line")), "triggered", States(), queue_size=2)
    worker.start()
    frames = drain(worker, delay=0.01)
    assert [f.source_name for f in frames] == names
    assert [f.index for f in frames] == list(range(len(names)))
    assert worker.dropped == 0 and worker.captured == len(names)


def test_live_mode_keeps_the_latest_frame_and_counts_every_drop(tmp_path):
    names = demo_copy(tmp_path / "line")
    states = States()
    worker = CaptureWorker(lambda: open_source("folder", str(tmp_path / "line")), "live", states)
    worker.start()
    states.wait_for(CameraStatus.FINISHED)  # the consumer took nothing while the source ran
    frames = drain(worker)
    assert [f.source_name for f in frames] == [names[-1]]  # only the newest survives
    assert worker.dropped == len(names) - 1
    assert worker.captured == len(frames) + worker.dropped


def test_get_many_batches_what_queued_up(tmp_path):
    names = demo_copy(tmp_path / "line", 5)
    states = States()
    worker = CaptureWorker(lambda: open_source("folder", str(tmp_path / "line")), "triggered", states, queue_size=8)
    worker.start()
    states.wait_for(CameraStatus.FINISHED)
    assert [f.source_name for f in worker.get_many(3, timeout=1)] == names[:3]
    assert [f.source_name for f in worker.get_many(8, timeout=1)] == names[3:]
    assert worker.get(timeout=5) is None and worker.done  # ended: returns at once, no 5 s wait


def test_folder_renamed_away_and_back_reconnects_without_losing_or_repeating_frames(tmp_path):
    line = tmp_path / "line"
    names = demo_copy(line)
    states = States()
    worker = CaptureWorker(lambda: FolderSource(str(line)), "triggered", states, queue_size=2, backoff=FAST)
    worker.start()
    got = [worker.get(timeout=5) for _ in range(5)]
    line.rename(tmp_path / "away")  # e.g. a network share dropping out
    while CameraStatus.RECONNECTING not in states.statuses:
        frame = worker.get(timeout=0.2)  # the producer only reads on once there is room again
        if frame is not None:
            got.append(frame)
    reason = states.wait_for(CameraStatus.RECONNECTING).reason
    assert "folder" in reason and ("disappeared" in reason or "not found" in reason)
    (tmp_path / "away").rename(line)
    got += drain(worker)
    assert [f.source_name for f in got] == names  # every board exactly once, in order
    s = states.statuses
    first_reconnect = s.index(CameraStatus.RECONNECTING)
    assert s[:2] == [CameraStatus.CONNECTING, CameraStatus.CONNECTED]
    assert CameraStatus.CONNECTED in s[first_reconnect:] and s[-1] == CameraStatus.FINISHED


class FailsOnceAfter(FolderSource):
    """A real folder source whose connection breaks after `n` frames, the first time only."""

    def __init__(self, uri: str, n: int) -> None:
        super().__init__(uri)
        self.n, self.broke = n, False

    def read(self, timeout=None):
        if not self.broke and self._next_index == self.n:
            self.broke = True
            raise self.error("connection reset by peer")
        return super().read(timeout)


def test_source_failing_mid_stream_goes_reconnecting_then_connected(tmp_path):
    names = demo_copy(tmp_path / "line", 10)
    states = States()
    worker = CaptureWorker(lambda: FailsOnceAfter(str(tmp_path / "line"), 4), "triggered", states, backoff=FAST)
    worker.start()
    frames = drain(worker)
    assert [f.source_name for f in frames] == names
    assert states.statuses == [CameraStatus.CONNECTING, CameraStatus.CONNECTED, CameraStatus.RECONNECTING,
                               CameraStatus.CONNECTED, CameraStatus.FINISHED]
    assert "connection reset by peer" in states.seen[2].reason


def test_a_source_that_never_opens_goes_failed_and_keeps_the_reason(tmp_path):
    states = States()
    worker = CaptureWorker(lambda: open_source("video", str(tmp_path / "missing.mp4")), "live", states,
                           backoff=(0.01, 0.01, 0.01), give_up_after=5)
    worker.start()
    assert drain(worker) == []
    assert states.statuses == [CameraStatus.CONNECTING, CameraStatus.RECONNECTING, CameraStatus.RECONNECTING,
                               CameraStatus.RECONNECTING, CameraStatus.FAILED, CameraStatus.FAILED]
    assert "missing.mp4': cannot open (file not found)" in states.seen[-1].reason
    assert worker.stop(timeout=30)


def test_corrupt_files_are_skipped_and_reported_the_line_goes_on(tmp_path):
    line = tmp_path / "line"
    names = demo_copy(line, 6)
    (line / names[2]).write_bytes(b"\xff\xd8 half a jpeg")
    skipped = []
    worker = CaptureWorker(lambda: open_source("folder", str(line)), "triggered", States(), on_skip=skipped.append)
    worker.start()
    frames = drain(worker)
    assert [f.source_name for f in frames] == names[:2] + names[3:]
    assert worker.corrupt_skipped == 1 and names[2] in str(skipped[0])


def test_stop_joins_promptly_while_blocked_on_a_full_queue(tmp_path):
    demo_copy(tmp_path / "line", 4)
    states = States()
    worker = CaptureWorker(lambda: open_source("folder", str(tmp_path / "line"), loop=True), "triggered", states,
                           queue_size=1)
    worker.start()
    while worker.captured < 2:  # one frame queued, the next one waiting for room
        time.sleep(0.01)
    assert worker.stop(timeout=1.0)
    assert states.statuses[-1] == CameraStatus.STOPPED and worker.dropped == 0


def test_stop_joins_promptly_while_a_slow_source_waits_for_its_next_frame(tmp_path):
    demo_copy(tmp_path / "line", 3)
    states = States()
    worker = CaptureWorker(lambda: open_source("replay", str(tmp_path / "line"), fps=0.1), "live", states)
    worker.start()
    assert worker.get(timeout=10) is not None  # first frame at once, the next one 10 s away
    assert worker.stop(timeout=1.0)
    assert states.statuses[-1] == CameraStatus.STOPPED


def test_bad_worker_arguments_are_refused():
    with pytest.raises(ValueError, match="'live' or 'triggered'"):
        CaptureWorker(lambda: None, "display", States())


def test_frame_tap_sees_every_frame_even_those_live_mode_drops_and_a_broken_tap_is_harmless(tmp_path):
    names = demo_copy(tmp_path / "line", 8)
    seen = []

    def tap(frame):
        seen.append(frame.index)
        if frame.index == 2:
            raise RuntimeError("display bug")

    states = States()
    worker = CaptureWorker(lambda: open_source("folder", str(tmp_path / "line")), "live", states, on_frame=tap)
    worker.start()
    states.wait_for(CameraStatus.FINISHED)  # nothing taken while the source ran: the slot kept only the newest
    assert len(drain(worker)) == 1 and worker.dropped == len(names) - 1
    assert seen == list(range(len(names)))  # the tap saw every frame, the one that raised included
