"""A plant: many stations, one database (SQLite file or PostgreSQL server), one image folder.

station.yaml names the station, the database and the image folder; two real station processes,
each with two cameras, write at once through the real recorder; every row arrives once, tagged
with its station and camera; `defects list/export` filter by both.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from resad_station.cli.main import main as cli_main
from resad_station.storage import StorageError, open_station_database, repository as repo

REPO_ROOT = Path(__file__).resolve().parent.parent


def write_station_file(data_dir: Path, **keys) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "station.yaml").write_text(yaml.safe_dump(keys))
    return data_dir


def test_station_file_names_the_station_its_database_and_a_shared_image_folder(tmp_path, db_url, capsys):
    data = write_station_file(tmp_path / "line3", station="line3-top", db_url=db_url, images_dir="../plant-images")
    assert cli_main(["--data-dir", str(data), "db", "upgrade"]) == 0
    db = open_station_database(data)
    assert (db.url, db.station, db.images.root) == (db_url, "line3-top", data / "../plant-images")
    with db.session() as s:
        p = repo.get_or_create_product(s, "pcb")
        repo.add_defect(s, product_id=p.id, station=db.station, camera="cam1", time=1.7e9, verdict="fail",
                        score=1.0, image=db.images.put_bytes(b"\x89PNG not really", ".png"))
        assert repo.add_audit_event(s, "engineer", "profile_saved").station == "line3-top"
    db.close()
    assert (tmp_path / "plant-images").is_dir() and not (data / "images").exists()
    capsys.readouterr()
    assert cli_main(["--data-dir", str(data), "db", "check"]) == 0
    out = capsys.readouterr().out
    assert "station line3-top" in out and "database check: ok" in out and "1 file(s) verified" in out


def test_without_a_station_file_the_station_is_named_after_its_host(tmp_path):
    from resad_station.storage.location import default_station_name

    db = open_station_database(tmp_path)
    assert db.station == default_station_name() != "" and db.images.root == tmp_path / "images"
    assert db.url.endswith("station.db")
    db.close()


@pytest.mark.parametrize("text, expected", [
    ("station: line 3\n", "station: expected 1-100 letters, digits"),
    ("station: a\nimage_dir: /x\n", "unknown key(s) image_dir; expected some of station, db_url, images_dir"),
    ("- station\n", "expected a mapping of station, db_url, images_dir (got list)"),
    ("db_url: 5\n", "db_url: expected a non-empty string (got 5)"),
    ("station: [unclosed\n", "not a YAML file"),
], ids=["name", "unknown-key", "list", "type", "yaml"])
def test_a_bad_station_file_is_refused_naming_the_file_and_key(tmp_path, capsys, text, expected):
    (tmp_path / "station.yaml").write_text(text)
    with pytest.raises(StorageError, match="station.yaml") as info:
        open_station_database(tmp_path)
    assert expected in str(info.value)
    assert cli_main(["--data-dir", str(tmp_path), "db", "check"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'station.yaml'}: " in err and expected in err and "Traceback" not in err


# One station process: two cameras, each with its own real Recorder and the real DatabaseSink,
# writing FRAMES results (every 4th uncertain or fail: a defect row with image files). Frames of
# the same index carry the same image on every camera and station: same content, same file.
STATION = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np
    from skimage import data as samples
    from resad_station.runtime.events import FrameResult, Verdict
    from resad_station.runtime.recorder import Recorder, RecordingPolicy
    from resad_station.runtime.storage_sink import DatabaseSink
    from resad_station.storage import open_station_database

    data_dir, go, frames = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    base = np.ascontiguousarray(samples.astronaut()[::8, ::8])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.01)
    db = open_station_database(data_dir)  # both processes migrate the empty database at once
    sink = DatabaseSink(db)
    recorders = {cam: Recorder(sink, cam, RecordingPolicy(pass_sampling=1.0), queue_size=frames + 1, batch_max=8)
                 for cam in ("cam1", "cam2")}
    for r in recorders.values():
        r.start()
    for i in range(frames):
        verdict = (Verdict.UNCERTAIN, Verdict.PASS, Verdict.FAIL, Verdict.PASS)[i % 4]
        image = np.roll(base, i, axis=1)
        amap = np.full(image.shape[:2], 0.1 * (i % 4), np.float32)
        now = time.time()
        for cam, rec in recorders.items():
            product = "pcb" if cam == "cam1" else "gear"
            assert rec.submit(FrameResult(cam, product, i, now - 0.02, now, 0.1 * (i % 4), verdict, 0.15, 0.25,
                                          image, amap, source_name=f"{cam}-{i}"))
    for r in recorders.values():
        r.stop(timeout=120)
        assert r.written == frames and r.write_errors == 0 and r.skipped == 0, (r.written, r.write_errors)
    db.close()
    print("done", flush=True)
""")


def test_two_station_processes_write_one_database_at_once_losing_and_doubling_nothing(tmp_path, db_url):
    frames, images = 40, tmp_path / "plant-images"
    script = tmp_path / "station.py"
    script.write_text(STATION)
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    procs = {}
    for name in ("line1", "line2"):
        data = write_station_file(tmp_path / name, station=name, db_url=db_url, images_dir=str(images))
        procs[name] = subprocess.Popen([sys.executable, str(script), str(data), str(go), str(frames)],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for proc in procs.values():
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        go.touch()  # both start writing (and migrating) at the same moment
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0 and out.strip() == "done", f"{name}: {err}"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)

    db = open_station_database(tmp_path / "line1")
    with db.read_session() as s:
        assert sorted(p.name for p in repo.list_products(s)) == ["gear", "pcb"]  # created once, not twice
        import sqlalchemy as sa

        from resad_station.storage.models import Defect, Inspection

        for station in ("line1", "line2"):
            for camera in ("cam1", "cam2"):
                indices = list(s.scalars(sa.select(Inspection.frame_index).where(
                    Inspection.station == station, Inspection.camera == camera).order_by(Inspection.frame_index)))
                assert indices == list(range(frames)), (station, camera)  # every frame once
                rows, total = repo.query_defects(s, station=station, camera=camera, limit=frames)
                assert total == frames // 2 and sorted(int(d.note.split("-")[1]) for d in rows) == [
                    i for i in range(frames) if i % 2 == 0]
        # One image file per distinct frame content, shared by both stations and both cameras.
        paths = set(s.scalars(sa.select(Defect.image_path)))
        assert len(paths) == frames // 2
    report = db.check()
    assert report.ok, report.problems()
    assert report.stale_temp_files == 0 and not list(images.rglob("*.tmp"))
    db.close()


def test_defects_list_and_export_filter_by_station_and_camera(tmp_path, db_url, capsys, rgb_texture):
    data = write_station_file(tmp_path / "review", station="qa-office", db_url=db_url)
    db = open_station_database(data)
    image = db.images.put_image(rgb_texture)
    with db.session() as s:
        p = repo.get_or_create_product(s, "pcb")
        for k, (station, camera) in enumerate([("line1", "cam1"), ("line1", "cam2"), ("line2", "cam1"),
                                               ("line2", "cam2"), ("line2", "cam2")]):
            repo.add_defect(s, product_id=p.id, station=station, camera=camera, time=time.time() - k,
                            verdict="fail", score=1.0 + k, image=image)
    db.close()
    capsys.readouterr()
    assert cli_main(["--data-dir", str(data), "defects", "list", "--station", "line2", "--camera", "cam2", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["station"], r["camera"], r["score"]) for r in rows] == [("line2", "cam2", 4.0), ("line2", "cam2", 5.0)]
    assert cli_main(["--data-dir", str(data), "defects", "list", "--camera", "cam1"]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("2 of 2 defect(s)") and "line1" in out and "line2" in out
    out_csv = tmp_path / "line1.csv"
    assert cli_main(["--data-dir", str(data), "defects", "export", "--format", "csv", "--station", "line1",
                     str(out_csv)]) == 0
    with open(out_csv, newline="") as f:
        table = list(csv.DictReader(f))
    assert sorted((r["station"], r["camera"]) for r in table) == [("line1", "cam1"), ("line1", "cam2")]


def test_a_billion_laughs_station_file_is_refused_by_the_same_limits_as_profiles(tmp_path):
    from resad_station.storage.location import StationFileError, read_station_file

    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    (tmp_path / "station.yaml").write_text(laughs)
    with pytest.raises(StationFileError, match="expands to more than"):
        read_station_file(tmp_path)
