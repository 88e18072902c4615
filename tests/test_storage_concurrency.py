"""Crash safety and concurrency on a real SQLite file and a real PostgreSQL server: a killed
writer process, writer threads and a reader thread."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from resad_station.storage import Database, repository as repo
REPO_ROOT = Path(__file__).resolve().parent.parent

WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from resad_station.storage import Database, repository as repo

    db = Database(sys.argv[1], sys.argv[2])
    with db.session() as s:
        product_id = repo.get_or_create_product(s, "pcb").id
    rng = np.random.default_rng(0)
    i = 0
    while True:
        frame = rng.integers(0, 256, size=(192, 192, 3), dtype=np.uint8)  # noise: large, slow PNGs
        # Files first, then the rows that point at them, in one transaction.
        image, raw = db.images.put_image(frame), db.images.put_array(frame[..., 0].astype(np.float32))
        with db.session() as s:
            repo.add_inspections(s, [repo.InspectionRecord(product_id, "cam1", time.time(), 0.1, "pass", 5.0, i)])
            inspection = repo.add_inspection(
                s, repo.InspectionRecord(product_id, "cam1", time.time(), 0.9, "fail", 5.0, i))
            defect = repo.add_defect(s, product_id=product_id, camera="cam1", time=time.time(), verdict="fail",
                                     score=0.9, image=image, raw_map=raw, inspection_id=inspection.id)
        print(defect.id, image.sha256, flush=True)  # printed only after the commit returned
        i += 1
""")


def test_writer_killed_mid_stream_keeps_every_committed_row(tmp_path, db_url):
    url, images = db_url, tmp_path / "images"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.Popen([sys.executable, str(script), url, str(images)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT)
    committed: dict[int, str] = {}
    try:
        while len(committed) < 25:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"writer exited early: {proc.stderr.read()}")
            defect_id, sha = line.split()
            committed[int(defect_id)] = sha
    finally:
        proc.send_signal(signal.SIGKILL)  # no cleanup, no atexit: as a power cut for the process
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    db = Database(url, images)
    report = db.check()
    assert report.ok, report.problems()
    with db.session() as s:
        rows, total = repo.query_defects(s, product="pcb", limit=10_000)
        assert total >= len(committed)
        stored = {d.id: d.image_sha256 for d in rows}
        assert all(stored.get(i) == sha for i, sha in committed.items())
        # Each defect row was committed together with its two inspections.
        assert repo.count_inspections(s, "pcb") == {"pass": total, "uncertain": 0, "fail": total}
    db.close()


def test_writer_threads_and_a_reader_thread_at_once(any_db, rgb_texture):
    station_db = any_db
    image = station_db.images.put_image(rgb_texture)
    n_batches, per_batch = 40, 5
    errors: list[BaseException] = []
    seen_totals: list[int] = []
    done = threading.Event()

    def writer(camera: str) -> None:
        try:
            for b in range(n_batches):
                with station_db.session() as s:
                    # Read, then write, while another thread writes: must wait, never fail.
                    product_id = repo.get_or_create_product(s, "pcb").id
                    for k in range(per_batch):
                        repo.add_defect(s, product_id=product_id, camera=camera, time=1.7e9 + b * per_batch + k,
                                        verdict="fail" if k % 2 else "uncertain", score=0.5, image=image)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def reader() -> None:
        try:
            while not done.is_set() or len(seen_totals) < 3:
                with station_db.read_session() as s:
                    rows, total = repo.query_defects(s, product="pcb", limit=20)
                    # A reader sees whole transactions only: never half a batch.
                    assert total % per_batch == 0, total
                    assert len(rows) == min(20, total)
                seen_totals.append(total)
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(c,)) for c in ("cam1", "cam2")]
    reading = threading.Thread(target=reader)
    for t in (*writers, reading):
        t.start()
    for t in writers:
        t.join(timeout=120)
    done.set()
    reading.join(timeout=120)
    assert not errors, errors
    assert seen_totals == sorted(seen_totals)  # committed rows never disappear
    with station_db.session() as s:
        assert repo.query_defects(s, product="pcb", limit=1)[1] == 2 * n_batches * per_batch
        assert repo.query_defects(s, camera="cam2", verdict="fail", limit=1)[1] == n_batches * 2
    assert station_db.check().ok


def test_a_new_database_opens_while_another_station_holds_its_write_lock(tmp_path):
    # Two stations opening a new SQLite file together: the first one's writes hold the lock while
    # the second switches the file to WAL, which SQLite refuses at once, without waiting.
    import sqlite3

    path = tmp_path / "station.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE first_station_was_here (i INTEGER)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO first_station_was_here VALUES (1)")
    released = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    released.start()
    try:
        db = Database(f"sqlite:///{path}", tmp_path / "images")
    finally:
        released.join()
        other.close()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert db.current_revision() is not None
    db.close()
