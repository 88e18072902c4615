"""Recorder: bounded queue under a burst, pass sampling, defect files, a failing sink.

The database tests run on SQLite and on PostgreSQL (`any_db`)."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest
from station_helpers import LINE_FILES, load_rgb

from resad_station.runtime.events import FrameResult, Verdict
from resad_station.runtime.recorder import Recorder, RecordingPolicy
from resad_station.runtime.storage_sink import DatabaseSink
from resad_station.storage import repository as repo

IMAGE = load_rgb(LINE_FILES[3])[:160, :200].copy()  # a real board crop keeps the files small


def result(i: int, verdict: Verdict, score: float = 1.0) -> FrameResult:
    amap = np.zeros((IMAGE.shape[0] // 4, IMAGE.shape[1] // 4), np.float32)  # the engine's grid, stride 4
    amap[10:15, 12:23] = score  # frame rows 40-60, columns 48-92
    now = time.time()
    return FrameResult("cam1", "board", i, now - 0.05, now, score, verdict, 1.0, 2.0, IMAGE, amap,
                       {"total": 5.0}, f"frame{i:03d}.png")


class GatedSink(DatabaseSink):
    """The real database sink, held at its first write until the test opens the gate."""

    def __init__(self, db) -> None:
        super().__init__(db)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def write(self, items):
        self.entered.set()
        assert self.gate.wait(30), "test never opened the gate"
        super().write(items)


def test_burst_larger_than_the_queue_skips_passes_first_and_records_what_it_skipped(any_db):
    station_db = any_db
    sink = GatedSink(station_db)
    rec = Recorder(sink, "cam1", RecordingPolicy(pass_sampling=1.0), queue_size=8, batch_max=4)
    rec.start()
    assert rec.submit(result(0, Verdict.PASS))
    assert sink.entered.wait(10)  # the writer holds frame 0; the queue is empty now
    # Burst of 20: passes 1..10 fill the queue (8) and 2 are skipped; then 10 fails each evict a
    # queued pass (8 evictions) and, once only fails are queued, are themselves skipped (2).
    accepted = [rec.submit(result(i, Verdict.PASS)) for i in range(1, 11)]
    accepted += [rec.submit(result(i, Verdict.FAIL, 3.0)) for i in range(11, 21)]
    assert accepted == [True] * 8 + [False] * 2 + [True] * 8 + [False] * 2
    assert rec.skipped == 12 and rec.max_depth == 8
    sink.gate.set()
    report = rec.stop(timeout=30)
    assert rec.joined and rec.written == 1 + 8 and rec.write_errors == 0
    assert report.by_verdict == {"pass": 10, "fail": 2}
    assert sorted(d.frame_index for d in report.details) == list(range(1, 11)) + [19, 20]
    with station_db.session() as s:
        counts = repo.count_inspections(s, "board")
        defects, total = repo.query_defects(s, product="board")
        (audit,) = repo.list_audit_events(s, action="recorder_skipped")
    assert counts == {"pass": 1, "uncertain": 0, "fail": 8}
    assert total == 8 and {d.verdict for d in defects} == {"fail"}
    assert audit.details["count"] == 12 and len(audit.details["frames"]) == 12


def test_pass_sampling_is_deterministic_and_defects_get_their_files(any_db):
    station_db = any_db
    rec = Recorder(DatabaseSink(station_db), "cam1", RecordingPolicy(pass_sampling=0.25), queue_size=64)
    rec.start()
    for i in range(8):
        rec.submit(result(i, Verdict.PASS, 0.1))
    rec.submit(result(8, Verdict.UNCERTAIN, 1.5))
    rec.submit(result(9, Verdict.FAIL, 2.5))
    rec.stop(timeout=30)
    assert rec.sampled_out == 6 and rec.skipped == 0
    with station_db.session() as s:
        assert repo.count_inspections(s, "board") == {"pass": 2, "uncertain": 1, "fail": 1}
        defects, _ = repo.query_defects(s, product="board", newest_first=False)
    assert [d.verdict for d in defects] == ["uncertain", "fail"]
    fail = defects[1]
    store = station_db.images
    assert np.array_equal(store.read_image(fail.image_path), IMAGE)  # lossless original
    raw = store.read_array(fail.raw_map_path)  # .npy read back without pickle
    # stored as the score saw it: float16 at the engine's grid, not up-sampled to the frame
    assert raw.dtype == np.float16 and raw.shape == (40, 50) and float(raw[12, 15]) == pytest.approx(2.5)
    heat = store.read_image(fail.heatmap_path)
    assert heat.shape == IMAGE.shape
    # The overlay turns the anomalous box red (above T2) and leaves the quiet region as it was.
    def redness(img):  # red against the other channels: holds on white and on dark pixels alike
        return img[..., 0].astype(int) - (img[..., 1].astype(int) + img[..., 2].astype(int)) / 2

    assert (redness(heat[45:55, 55:85]) - redness(IMAGE[45:55, 55:85])).mean() > 40
    assert np.abs(heat[100:150, 100:190].astype(int) - IMAGE[100:150, 100:190]).mean() < 6
    assert fail.inspection_id is not None and fail.note == "frame009.png"
    for d in defects:
        for rel, sha in ((d.image_path, d.image_sha256), (d.heatmap_path, d.heatmap_sha256), (d.raw_map_path, d.raw_map_sha256)):
            assert store.verify(rel, sha) is None


def test_keep_images_decides_which_verdicts_get_a_defect_row(any_db):
    station_db = any_db
    policy = RecordingPolicy.from_values(["fail"], pass_sampling=1.0)
    rec = Recorder(DatabaseSink(station_db), "cam1", policy)
    rec.start()
    rec.submit(result(0, Verdict.UNCERTAIN, 1.5))
    rec.submit(result(1, Verdict.FAIL, 2.5))
    rec.stop(timeout=30)
    with station_db.session() as s:
        assert repo.count_inspections(s, "board") == {"pass": 0, "uncertain": 1, "fail": 1}
        defects, total = repo.query_defects(s)
    assert total == 1 and defects[0].verdict == "fail"


def test_a_failing_write_is_counted_and_the_recorder_goes_on(any_db):
    station_db = any_db
    class FlakySink(DatabaseSink):
        calls = 0

        def write(self, items):
            FlakySink.calls += 1
            if FlakySink.calls == 1:
                raise OSError("disk full (simulated)")
            super().write(items)

    rec = Recorder(FlakySink(station_db), "cam1", queue_size=8, batch_max=1)
    rec.start()
    rec.submit(result(0, Verdict.FAIL, 3.0))
    assert rec.wait_idle(30)
    rec.submit(result(1, Verdict.FAIL, 3.0))
    rec.stop(timeout=30)
    assert rec.write_errors == 1 and rec.written == 1
    with station_db.session() as s:
        assert repo.query_defects(s)[1] == 1


def test_one_bad_record_does_not_lose_the_rest_of_its_batch(station_db):
    sink = GatedSink(station_db)
    rec = Recorder(sink, "cam1", RecordingPolicy(pass_sampling=1.0), queue_size=8, batch_max=8)
    rec.start()
    rec.submit(result(0, Verdict.FAIL, 3.0))
    assert sink.entered.wait(10)  # the writer holds frame 0; the next four queue up as one batch
    bad = result(2, Verdict.FAIL, 3.0)
    bad = dataclasses.replace(bad, image=np.zeros((4, 4, 7), np.uint8))  # 7 channels: cannot be encoded
    for item in (result(1, Verdict.FAIL, 3.0), bad, result(3, Verdict.FAIL, 3.0), result(4, Verdict.PASS)):
        assert rec.submit(item)
    sink.gate.set()
    rec.stop(timeout=30)
    assert rec.written == 4 and rec.write_errors == 1  # before: the whole batch of 4 was lost
    with station_db.session() as s:
        assert repo.query_defects(s)[1] == 3


def test_policy_values_are_checked():
    with pytest.raises(ValueError, match="pass_sampling"):
        RecordingPolicy.from_values(["fail"], 1.5)
    with pytest.raises(ValueError, match="queue_size"):
        Recorder(None, queue_size=0)
