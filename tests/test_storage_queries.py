"""The review gallery's queries: filters, paging, index use at 100,000 rows; retention.

Filters, paging and retention run on SQLite and on PostgreSQL (`any_db`); the query-plan test
reads SQLite's EXPLAIN QUERY PLAN.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from resad_station.storage import Database, repository as repo
from resad_station.storage.models import Defect, Inspection, Product

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
PRODUCTS, CAMERAS, VERDICTS, LABELS = ("pcb", "gear", "cap"), ("cam1", "cam2"), ("uncertain", "fail"), (
    "none", "defect", "false_alarm")
STATIONS = ("line1", "line2")


def _rows(n: int, product_ids: dict[str, int], seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [
        {"product_id": product_ids[rng.choice(PRODUCTS)], "station": rng.choice(STATIONS), "camera": rng.choice(CAMERAS),
         # Some rows share a timestamp on purpose: paging must break ties by id.
         "time": T0 + timedelta(minutes=rng.randrange(n // 2)), "verdict": rng.choice(VERDICTS),
         "score": rng.random(), "image_path": "ab/ab.png", "image_sha256": "ab" * 32, "label": rng.choice(LABELS)}
        for _ in range(n)
    ]


def _populate(db: Database, n: int, seed: int = 0) -> dict[str, int]:
    with db.session() as s:
        ids = {name: repo.get_or_create_product(s, name).id for name in PRODUCTS}
        s.execute(sa.insert(Defect), _rows(n, ids, seed))
    return ids


@pytest.fixture(scope="module")
def big_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    db = Database(f"sqlite:///{(folder / 's.db').as_posix()}", folder / "images")
    _populate(db, 100_000, seed=1)
    yield db
    db.close()


def test_filters_match_a_python_reference(any_db):
    station_db = any_db
    ids = _populate(station_db, 600)
    with station_db.read_session() as s:
        everything = list(s.scalars(sa.select(Defect)))
        cases = [
            {}, {"product": "pcb"}, {"product": "gear", "verdict": "fail"}, {"product": "cap", "label": "none"},
            {"camera": "cam2", "label": ["defect", "false_alarm"]},
            {"station": "line2"}, {"station": "line1", "camera": "cam2", "product": "gear"},
            {"product": ids["pcb"], "since": T0 + timedelta(minutes=50), "until": T0 + timedelta(minutes=150)},
        ]
        for filters in cases:
            def keep(d: Defect, f=filters) -> bool:
                product = f.get("product")
                labels = f.get("label")
                return ((product is None or d.product_id == (ids[product] if isinstance(product, str) else product))
                        and f.get("camera", d.camera) == d.camera and f.get("verdict", d.verdict) == d.verdict
                        and f.get("station", d.station) == d.station
                        and (labels is None or d.label in ([labels] if isinstance(labels, str) else labels))
                        and f.get("since", d.time) <= d.time and (f.get("until") is None or d.time < f["until"]))
            expected = sorted((d for d in everything if keep(d)), key=lambda d: (d.time, d.id), reverse=True)
            rows, total = repo.query_defects(s, **filters, offset=5, limit=17)
            assert total == len(expected), filters
            assert [d.id for d in rows] == [d.id for d in expected[5:22]], filters
        assert repo.query_defects(s, product="no-such-product") == ([], 0)
        assert repo.list_cameras(s) == [(st, cam) for st in STATIONS for cam in CAMERAS]


def test_offset_and_keyset_pages_cover_everything_once(any_db):
    station_db = any_db
    _populate(station_db, 500)
    with station_db.read_session() as s:
        by_offset, by_keyset, before = [], [], None
        for page in range(50):
            rows, total = repo.query_defects(s, product="gear", offset=page * 23, limit=23)
            by_offset += [d.id for d in rows]
            rows, _ = repo.query_defects(s, product="gear", before=before, limit=23)
            by_keyset += [d.id for d in rows]
            before = (rows[-1].time, rows[-1].id) if rows else before
        assert len(by_offset) == total == len(set(by_offset)) and by_keyset == by_offset
        oldest_first, _ = repo.query_defects(s, product="gear", newest_first=False, limit=total)
        assert [d.id for d in oldest_first] == by_offset[::-1]


def _plans(db: Database, **filters) -> list[str]:
    """EXPLAIN QUERY PLAN of every statement query_defects runs for these filters."""
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM defect" in statement:
            statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.read_session() as s:
            repo.query_defects(s, **filters, offset=500, limit=50)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    plans = []
    with db.engine.connect() as conn:
        for statement, parameters in statements:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            plans.append(" | ".join(r[-1] for r in rows))
    return plans


@pytest.mark.parametrize("filters", [
    {}, {"product": "pcb"}, {"product": "pcb", "verdict": "fail"}, {"product": "gear", "label": "false_alarm"},
    {"product": "cap", "since": T0 + timedelta(days=1), "until": T0 + timedelta(days=2)},
    {"since": T0 + timedelta(days=3)},
], ids=str)
def test_gallery_queries_use_an_index_at_100k_rows(big_db, filters):
    with big_db.read_session() as s:
        rows, total = repo.query_defects(s, **filters, offset=500, limit=50)
        assert total > 550 and len(rows) == 50
    plans = _plans(big_db, **filters)
    assert len(plans) == 2  # the count and the page
    for plan in plans:
        assert "INDEX" in plan, plan  # never a plain table scan of 100,000 rows
        assert "TEMP B-TREE" not in plan, plan  # the page comes out of the index already ordered


def test_retention_deletes_old_rows_and_only_unshared_files(any_db, rgb_texture):
    station_db = any_db
    images = station_db.images
    now = T0 + timedelta(days=100)
    old_only = images.put_image(rgb_texture[:64])
    shared = images.put_image(rgb_texture[64:])
    reviewed_file = images.put_image(rgb_texture[:, :64].copy())
    with station_db.session() as s:
        p = repo.get_or_create_product(s, "pcb")
        old = T0 + timedelta(days=10)
        inspection = repo.add_inspection(s, repo.InspectionRecord(p.id, "cam1", old, 0.9, "fail", 3.0, 1))
        gone = repo.add_defect(s, product_id=p.id, camera="cam1", time=old, verdict="fail", score=0.9,
                               image=old_only, heatmap=shared, inspection_id=inspection.id)
        kept = repo.add_defect(s, product_id=p.id, camera="cam1", time=old, verdict="fail", score=0.9,
                               image=reviewed_file, inspection_id=inspection.id)
        repo.label_defect(s, kept.id, "defect", "qa")
        recent = repo.add_defect(s, product_id=p.id, camera="cam1", time=now - timedelta(days=1),
                                 verdict="uncertain", score=0.5, image=shared)
        repo.add_inspections(s, [repo.InspectionRecord(p.id, "cam1", now - timedelta(days=d), 0.1, "pass", 3.0, d)
                                 for d in (1, 40, 60)])
    with station_db.session() as s:
        result = repo.delete_older_than(s, 30, now=now)
    assert (result.defects, result.inspections, result.orphan_files) == (1, 3, [old_only.path])
    assert images.delete(old_only.path)
    with station_db.read_session() as s:
        assert {d.id for d in repo.query_defects(s, limit=10)[0]} == {kept.id, recent.id}
        assert repo.get_defect(s, kept.id).inspection_id is None  # its inspection went, it stayed
        assert s.scalar(sa.select(sa.func.count()).select_from(Inspection)) == 1
        assert s.get(Defect, gone.id) is None and s.get(Product, p.id) is not None
    assert station_db.check().ok  # the shared file is still there for the recent defect


def test_retention_spares_an_orphan_file_another_station_just_reused(any_db, rgb_texture):
    # Station A's retention finds a file orphaned while station B, sharing the image folder, has
    # just stored the same content for a row it has not committed yet: the file must stay.
    import os
    import time

    images = any_db.images
    old, reused = images.put_image(rgb_texture[:32]), images.put_image(rgb_texture[32:64])
    long_ago = time.time() - 2 * 86400
    for f in (old, reused):
        os.utime(images.path(f.path), (long_ago, long_ago))
    with any_db.session() as s:
        p = repo.get_or_create_product(s, "pcb")
        for f in (old, reused):
            repo.add_defect(s, product_id=p.id, camera="cam1", time=T0, verdict="fail", score=0.9, image=f)
    assert images.put_image(rgb_texture[32:64]) == reused  # station B stores the same bytes again
    result = repo.apply_retention(any_db, 30)
    assert result.defects == 2 and sorted(result.orphan_files) == sorted([old.path, reused.path])
    assert result.files_deleted == 1
    assert not images.path(old.path).exists() and images.verify(reused.path, reused.sha256) is None
