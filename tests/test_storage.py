"""Storage: migrations, every table round-trips, image store, check(), locked DB and full disk.

Tests taking `db_url` / `any_db` run twice: on a SQLite file and on a real PostgreSQL server.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import numpy as np
import pytest
import sqlalchemy as sa

from resad_station.storage import (
    Database,
    ImageStore,
    SchemaTooNewError,
    StorageError,
    head_revision,
    repository as repo,
)
from resad_station.storage.models import Base

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


def sqlite_url(path) -> str:
    return f"sqlite:///{path.as_posix()}"


def test_migrates_an_empty_database_and_matches_the_models(db_url, tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db = Database(db_url, tmp_path / "images")
    assert db.current_revision() == head_revision()
    with db.engine.connect() as conn:
        if db.is_sqlite:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        # The migrations create exactly what the ORM models describe (no drift).
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert db.upgrade() == head_revision()  # idempotent
    db.close()


def test_upgrade_from_the_first_schema_keeps_rows_and_tags_them_with_no_station(db_url, tmp_path):
    from alembic import command

    from resad_station.storage.schema import alembic_config

    db = Database(db_url, tmp_path / "images", auto_upgrade=False)
    with db.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001_initial")
        conn.exec_driver_sql("INSERT INTO product (id, name, created_at) VALUES (1, 'old', '2025-01-01 00:00:00')")
        conn.exec_driver_sql("INSERT INTO inspection (product_id, camera, time, score, verdict, latency_ms, "
                             "frame_index) VALUES (1, 'cam1', '2025-01-01 00:00:00', 0.5, 'pass', 3.0, 7)")
    assert db.current_revision() == "0001_initial"
    assert db.upgrade() == head_revision()
    with db.read_session() as s:
        assert repo.count_inspections(s, "old", station="", camera="cam1")["pass"] == 1
    db.close()


def test_refuses_a_database_from_a_newer_app(db_url, tmp_path):
    Database(db_url, tmp_path / "images").close()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    with pytest.raises(SchemaTooNewError) as info:
        Database(db_url, tmp_path / "images")
    message = str(info.value)
    assert "'0099_from_the_future'" in message and f"'{head_revision()}'" in message
    with engine.connect() as conn:  # left untouched
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall() == [("0099_from_the_future",)]
    engine.dispose()


def _fill(db: Database, image: np.ndarray) -> dict[str, int]:
    with db.session() as s:
        product = repo.get_or_create_product(s, "pcb-demo", profile_path="profiles/demo.yaml")
        ref_file = db.images.put_image(image)
        rs = repo.add_reference_set(
            s, product, features=b"\x00\x01safetensors", backbone="lite0", engine_version="0.1",
            input_size=256, shots=1, calibration={"mean": 0.2, "std": 0.05, "t_fail": 0.4},
            images=[repo.ReferenceImageSpec(ref_file, "live")], note="first",
        )
        inspection = repo.add_inspection(s, repo.InspectionRecord(product.id, "cam1", T0, 0.7, "fail", 42.5, 7,
                                                                  station="line3"))
        defect = repo.add_defect(
            s, product_id=product.id, station="line3", camera="cam1", time=T0, verdict="fail", score=0.7,
            image=db.images.put_image(image[::-1].copy()), heatmap=db.images.put_image(image[:, ::-1].copy()),
            raw_map=db.images.put_array(np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)),
            inspection_id=inspection.id,
        )
        repo.add_audit_event(s, "engineer", "thresholds.set", {"t_fail": 0.4, "profile": "demo"}, time=T0)
        return {"product": product.id, "reference_set": rs.id, "inspection": inspection.id, "defect": defect.id}


def test_every_table_round_trips(any_db, rgb_texture):
    ids = _fill(any_db, rgb_texture)
    # A second Database on the same file: nothing comes from the first one's session cache.
    other = Database(any_db.url, any_db.images.root, station="review-pc")
    with other.session() as s:
        (product,) = repo.list_products(s)
        assert (product.name, product.profile_path) == ("pcb-demo", "profiles/demo.yaml")
        rs = repo.active_reference_set(s, "pcb-demo")
        assert (rs.id, rs.version, rs.features, rs.backbone, rs.shots, rs.note) == (
            ids["reference_set"], 1, b"\x00\x01safetensors", "lite0", 1, "first")
        assert {k: v for k, v in rs.calibration.items() if k != "mac"} == {"mean": 0.2, "std": 0.05, "t_fail": 0.4}
        assert [(i.source, len(i.sha256)) for i in rs.images] == [("live", 64)]
        assert np.array_equal(other.images.read_image(rs.images[0].path), rgb_texture)
        assert repo.count_inspections(s, "pcb-demo") == {"pass": 0, "uncertain": 0, "fail": 1}
        assert repo.count_inspections(s, station="line3", camera="cam1")["fail"] == 1
        assert repo.count_inspections(s, station="line4")["fail"] == 0
        d = repo.get_defect(s, ids["defect"])
        assert (d.time, d.verdict, d.score, d.label, d.inspection_id) == (T0, "fail", 0.7, "none", ids["inspection"])
        assert (d.station, d.camera) == ("line3", "cam1")
        assert repo.list_cameras(s) == [("line3", "cam1")]
        raw = other.images.read_array(d.raw_map_path)
        assert raw.dtype == np.float32 and raw.shape == (8, 8) and raw[7, 7] == 1.0
        (event,) = repo.list_audit_events(s, action="thresholds.set")
        assert (event.actor, event.details, event.time) == ("engineer", {"t_fail": 0.4, "profile": "demo"}, T0)
        assert event.station == ""  # the first Database was opened without a station name
        labelled = repo.label_defect(s, d.id, "false_alarm", "qa-anna", note="glare")
        assert repo.add_audit_event(s, "reviewer", "label_defect", {"defect": d.id}).station == "review-pc"
    assert (labelled.reviewer, labelled.note) == ("qa-anna", "glare") and labelled.reviewed_at is not None
    report = other.check()  # sound, except that the test's stand-in features blob is not a reference set
    assert report.integrity == [] and report.files == [] and report.reference_sets_checked == 1
    assert len(report.reference_sets) == 1 and "features do not load" in report.reference_sets[0]
    other.close()


def test_reference_set_versions_one_active(any_db):
    station_db = any_db
    with station_db.session() as s:
        p = repo.get_or_create_product(s, "gear")
        make = dict(features=b"f", backbone="b", engine_version="1", input_size=256, shots=4, calibration={})
        v1, v2, v3 = (repo.add_reference_set(s, p, **make) for _ in range(3))
        assert [v.version for v in (v1, v2, v3)] == [1, 2, 3]
        assert [r.version for r in repo.list_reference_sets(s, p)] == [3, 2, 1]
        assert repo.active_reference_set(s, p).id == v3.id
        repo.activate_reference_set(s, v1.id)  # roll back to the first enrollment
        assert repo.active_reference_set(s, "gear").id == v1.id
        assert sum(r.active for r in repo.list_reference_sets(s, p)) == 1
        repo.set_calibration(s, v1.id, {"t_fail": 0.9})
    with station_db.session() as s:
        assert repo.get_reference_set(s, v1.id).calibration.keys() - {"mac"} == {"t_fail"}
    # The partial unique index refuses a second active set even when code bypasses the repository.
    with pytest.raises(sa.exc.IntegrityError):
        with station_db.session() as s:
            repo.get_reference_set(s, v2.id).active = True


def test_bad_values_are_refused_with_clear_errors(any_db, rgb_texture):
    station_db = any_db
    with station_db.session() as s:
        p = repo.get_or_create_product(s, "x")
        with pytest.raises(ValueError, match="verdict must be one of pass, uncertain, fail"):
            repo.add_inspections(s, [repo.InspectionRecord(p.id, "c", 0.0, 0.1, "ok", 1.0, 0)])
        d = repo.add_defect(s, product_id=p.id, camera="c", time=1.7e9, verdict="uncertain", score=0.1,
                            image=station_db.images.put_image(rgb_texture))
        with pytest.raises(ValueError, match="label must be one of none, defect, false_alarm"):
            repo.label_defect(s, d.id, "bad", "me")
        with pytest.raises(LookupError, match="no defect with id 999"):
            repo.get_defect(s, 999)


def test_image_store_is_content_addressed_and_atomic(tmp_path, rgb_texture):
    store = ImageStore(tmp_path / "img")
    a = store.put_image(rgb_texture)
    b = store.put_image(rgb_texture.copy())
    assert a == b and a.path.startswith(a.sha256[:2] + "/") and a.path.endswith(".png")
    assert np.array_equal(store.read_image(a.path), rgb_texture)  # RGB survives OpenCV's BGR
    m = store.put_array(np.eye(3, dtype=np.float64))
    assert store.read_array(m.path).dtype == np.float32
    assert store.path(m.path).read_bytes().startswith(b"\x93NUMPY")  # plain .npy, no pickle
    assert store.verify(a.path, a.sha256) is None
    store.path(a.path).write_bytes(b"corrupt")
    assert store.verify(a.path, a.sha256) == "mismatch"
    store.delete(a.path)
    assert store.verify(a.path, a.sha256) == "missing"
    assert not list((tmp_path / "img").rglob("*.tmp"))
    with pytest.raises(StorageError, match="not a path inside the image store"):
        store.path("../../etc/passwd")
    with pytest.raises(ValueError, match="uint8"):
        store.put_image(rgb_texture.astype(np.float32))


def test_check_lists_missing_and_mismatched_files(any_db, rgb_texture):
    station_db = any_db
    ids = _fill(station_db, rgb_texture)
    with station_db.session() as s:
        d = repo.get_defect(s, ids["defect"])
    station_db.images.path(d.image_path).unlink()
    station_db.images.path(d.heatmap_path).write_bytes(b"tampered")
    report = station_db.check()
    assert not report.ok and report.integrity == []
    assert [(p.table, p.row_id, p.column) for p in report.missing] == [("defect", d.id, "image_path")]
    assert [(p.table, p.column) for p in report.mismatched] == [("defect", "heatmap_path")]
    assert f"defect {d.id}: image_path {d.image_path} is missing" in report.problems()


def test_locked_database_gives_a_clear_error_and_loses_nothing(tmp_path):
    path = tmp_path / "s.db"
    db = Database(sqlite_url(path), tmp_path / "images", busy_timeout_s=0.2)
    with db.session() as s:
        repo.get_or_create_product(s, "kept")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        with pytest.raises(StorageError, match="database is locked"):
            with db.session() as s:
                repo.get_or_create_product(s, "blocked")
    finally:
        other.execute("ROLLBACK")
        other.close()
    with db.session() as s:
        assert [p.name for p in repo.list_products(s)] == ["kept"]
        repo.get_or_create_product(s, "after")  # works again once the lock is gone
    db.close()


def test_full_disk_gives_a_clear_error_and_loses_nothing(station_db):
    with station_db.session() as s:
        repo.get_or_create_product(s, "kept")
    with station_db.engine.connect() as conn:  # cap the file at its current size: SQLITE_FULL
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StorageError, match="disk full"):
        with station_db.session() as s:
            p = repo.get_or_create_product(s, "big")
            repo.add_reference_set(s, p, features=b"\x00" * 2_000_000, backbone="b", engine_version="1",
                                   input_size=256, shots=4, calibration={})
    station_db.engine.dispose()  # fresh connections: no page cap
    with station_db.session() as s:
        assert [p.name for p in repo.list_products(s)] == ["kept"]
    assert station_db.check().ok
