"""The defect id a verdict message carries is the reference of the defect row written after it.

A running station (real engine, real demo boards) sends its verdicts through a real Mosquitto
broker, a local http.server and its OPC UA server; each message's `defect_id` must name the
defect row the recorder stored afterwards (same frame, verdict, score), PASS messages carry
none, and `defects list --ref` finds the row. References are unique in the database (SQLite
and PostgreSQL), and a verdict whose row the recorder had to skip goes out without one.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import replace

import pytest
import sqlalchemy as sa
from line_peers import Broker, Receiver, Subscriber, frame_result, free_port, wait_for
from station_helpers import LINE_FILES, write_profile

from resad_station.cli.main import main
from resad_station.runtime.events import Verdict
from resad_station.runtime.recorder import Recorder, RecordingPolicy
from resad_station.runtime.station import Station
from resad_station.runtime.storage_sink import DatabaseSink
from resad_station.storage import StoredFile
from resad_station.storage import repository as repo
from resad_station.storage.models import Inspection


async def read_opcua(url: str, names: tuple[str, ...]) -> dict:
    from asyncua import Client

    client = Client(url, timeout=30)
    await client.connect()
    try:
        ns = await client.get_namespace_index("urn:resad-station")
        return {n: await client.get_node(f"ns={ns};s=cam1.{n}").read_value() for n in names}
    finally:
        await client.disconnect()


def test_every_output_names_the_defect_row_the_recorder_stored(tmp_path, capsys):
    folder = tmp_path / "line"
    folder.mkdir()
    boards = LINE_FILES[:3] + [f for f in LINE_FILES if "_defect_" in f.name][:3]  # good ones, then defective
    for f in boards:
        shutil.copy(f, folder / f.name)
    broker = Broker(tmp_path).start()
    receiver = Receiver()
    url = f"opc.tcp://127.0.0.1:{free_port()}/resad/"
    outputs = [{"kind": "mqtt", "host": "127.0.0.1", "port": broker.port, "events": False},
               {"kind": "webhook", "url": receiver.url, "events": False},
               {"kind": "opcua", "endpoint": url, "events": False}]
    camera = {"kind": "folder", "uri": str(folder), "loop": False, "fps": 30, "mode": "triggered"}
    profile = write_profile(tmp_path, "line", "pcb", camera, outputs=outputs)
    sub = Subscriber(broker.port, "resad/line/cam1/verdict")
    try:
        with Station.open(profile, tmp_path / "data") as station:
            station.start()
            assert station.wait(600), "the six boards were not inspected"
            wait_for(lambda: len(sub.on("resad/line/cam1/verdict")) == len(boards), timeout=120, what="MQTT verdicts")
            wait_for(lambda: len(receiver.requests) == len(boards), timeout=120, what="webhook verdicts")
            opc = station.outputs.outputs[2]
            wait_for(lambda: opc.status().sent == len(boards), timeout=120, what=f"OPC UA values {opc.status()}")
            opcua = asyncio.run(asyncio.wait_for(read_opcua(url, ("DefectId", "FrameId")), 120))
            assert station.stop()
            with station.db.read_session() as s:
                defects, _ = repo.query_defects(s, limit=100)
                rows = {d.reference: (s.get(Inspection, d.inspection_id).frame_index, d.verdict, d.score)
                        for d in defects}
    finally:
        sub.close()
        receiver.close()
        broker.kill()
    mqtt = sub.on("resad/line/cam1/verdict")
    hook = [json.loads(body) for _, body in receiver.requests]
    assert [m["defect_id"] for m in mqtt] == [m["defect_id"] for m in hook]  # one reference, every output
    kept = [m for m in mqtt if m["verdict"] != "pass"]
    assert kept, "the defective boards should not all pass"
    assert all(m["defect_id"] is None for m in mqtt if m["verdict"] == "pass")
    # each defect_id is the stored row's reference, for that frame, verdict and score; no row without a message
    assert set(rows) == {m["defect_id"] for m in kept} and len(rows) == len(kept)
    for m in kept:
        frame, verdict, score = rows[m["defect_id"]]
        assert (frame, verdict) == (m["frame_id"], m["verdict"]) and score == pytest.approx(m["score"], abs=1e-6)
    last = mqtt[-1]
    assert (opcua["FrameId"], opcua["DefectId"]) == (last["frame_id"], last["defect_id"] or "")

    # a reviewer pastes the id from the MES message (any case, stray spaces) and gets that one defect
    ref = kept[0]["defect_id"]
    assert main(["--data-dir", str(tmp_path / "data"), "defects", "list", "--ref", f" {ref.upper()} ", "--json"]) == 0
    (found,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (found["reference"], found["verdict"]) == (ref, kept[0]["verdict"])


def test_a_skipped_row_goes_out_without_a_reference_and_references_are_unique(any_db):
    # not started: nothing is written, so a queue of 2 is full after two defects
    rec = Recorder(DatabaseSink(any_db), "cam1", RecordingPolicy(pass_sampling=1.0), queue_size=2)
    sent = [rec.record(frame_result(i, v, 1.5)) for i, v in enumerate((Verdict.FAIL, Verdict.UNCERTAIN, Verdict.FAIL))]
    assert sent[0].defect_ref and sent[1].defect_ref and sent[0].defect_ref != sent[1].defect_ref
    assert sent[2].defect_ref is None and rec.skipped == 1  # its row was skipped: the message says so
    passed = rec.record(frame_result(3, Verdict.PASS, 0.1))  # evicted by nothing, but a PASS has no defect row
    assert passed.defect_ref is None
    not_kept = Recorder(DatabaseSink(any_db), "cam1", RecordingPolicy(keep_images=frozenset({Verdict.FAIL})))
    assert not_kept.record(frame_result(4, Verdict.UNCERTAIN, 0.7)).defect_ref is None  # no defect row for it
    rec.start()
    rec.stop()
    with any_db.read_session() as s:
        defects, _ = repo.query_defects(s, limit=10)
        assert sorted(d.reference for d in defects) == sorted([sent[0].defect_ref, sent[1].defect_ref])
        one, total = repo.query_defects(s, reference=sent[1].defect_ref)
        assert total == 1 and one[0].verdict == "uncertain"
    # the unique index: a second row with a reference already stored is refused, the first is kept
    twin = Recorder(DatabaseSink(any_db), "cam1", RecordingPolicy(pass_sampling=1.0))
    twin.start()
    twin.submit(replace(frame_result(9, Verdict.FAIL, 2.0), defect_ref=sent[0].defect_ref))
    twin.stop()
    assert twin.write_errors == 1
    with any_db.read_session() as s:
        assert repo.query_defects(s, reference=sent[0].defect_ref)[1] == 1
    with pytest.raises(sa.exc.IntegrityError), any_db.session() as s:
        d = defects[0]
        repo.add_defect(s, product_id=d.product_id, camera="cam2", time=d.time, verdict="fail", score=1.0,
                        image=StoredFile(d.image_path, d.image_sha256), reference=sent[1].defect_ref)


def test_a_pass_kept_as_a_sample_gets_a_reference_on_its_row_and_none_in_its_message(any_db):
    rec = Recorder(DatabaseSink(any_db), "cam1", RecordingPolicy(frozenset(Verdict), pass_sampling=1.0))
    rec.start()
    sent = rec.record(frame_result(0, Verdict.PASS, 0.1))
    rec.stop()
    assert sent.defect_ref is None  # the line is told "no defect" for a PASS
    with any_db.read_session() as s:
        (row,), _ = repo.query_defects(s)
    assert row.verdict == "pass" and len(row.reference) == 36  # still findable in review


def test_upgrade_keeps_older_defects_without_a_reference_and_downgrades(db_url, tmp_path):
    from alembic import command

    from resad_station.storage import Database, head_revision
    from resad_station.storage.schema import alembic_config

    db = Database(db_url, tmp_path / "images", auto_upgrade=False)
    with db.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0005_defect_reason")
        conn.exec_driver_sql("INSERT INTO product (id, name, created_at) VALUES (1, 'old', '2025-01-01 00:00:00')")
        for i in (1, 2):  # two older rows: both without a reference, which the unique index allows
            conn.exec_driver_sql(
                "INSERT INTO defect (product_id, station, camera, time, verdict, score, image_path, image_sha256, label)"
                f" VALUES (1, '', 'cam1', '2025-01-01 00:00:0{i}', 'fail', 1.5, 'a/b.png', '{'0' * 64}', 'none')")
    assert db.upgrade() == head_revision()
    with db.read_session() as s:
        rows, total = repo.query_defects(s, product="old")
        assert total == 2 and [d.reference for d in rows] == [None, None]
    with db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0005_defect_reason")
        assert "reference" not in {c["name"] for c in sa.inspect(conn).get_columns("defect")}
    db.close()
