"""One truth in the audit trail: the row's actor is whoever did it, and its details agree."""

from __future__ import annotations

from resad_station.runtime.alarms import AlarmMachine
from resad_station.runtime.events import AlarmStatus, Verdict
from resad_station.runtime.storage_sink import DatabaseSink
from resad_station.storage import repository as repo


def test_an_acknowledged_alarm_is_audited_as_the_one_who_acknowledged_it(station_db):
    machine = AlarmMachine("cam1", "board", debounce_frames=1, latch=True)
    sink = DatabaseSink(station_db)  # the station's own events are audited as "system"
    events = machine.observe(Verdict.FAIL, score=9.0, frame_index=3)
    events += machine.observe(Verdict.PASS, score=1.0, frame_index=4)
    events += machine.acknowledge("acknowledged by engineer:eve", actor="engineer:eve")
    for event in events:
        sink.write_alarm(event)
    assert [e.status for e in events] == [AlarmStatus.RAISED, AlarmStatus.ACKNOWLEDGED, AlarmStatus.CLEARED]
    with station_db.read_session() as s:
        rows = list(reversed(repo.list_audit_events(s)))
    assert [(r.action, r.actor) for r in rows] == [
        ("alarm_raised", "system"), ("alarm_acknowledged", "engineer:eve"), ("alarm_cleared", "engineer:eve")]
    assert rows[1].details["message"] == "acknowledged by engineer:eve"


def test_a_database_written_before_the_rename_upgrades_and_keeps_its_audit_trail(tmp_path):
    import sqlalchemy as sa
    from alembic import command

    from resad_station.storage import Database
    from resad_station.storage.schema import alembic_config

    url = f"sqlite:///{(tmp_path / 'old.db').as_posix()}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the schema as the first release wrote it, with one audit row
        command.upgrade(alembic_config(conn), "0001_initial")
        conn.execute(sa.text("INSERT INTO audit_event (time, role, action, details) "
                             "VALUES ('2026-01-05 08:00:00', 'engineer:alice', 'thresholds_changed', '{\"t_fail\": 9}')"))
    engine.dispose()
    db = Database(url, tmp_path / "images")  # upgrades on open
    try:
        with db.read_session() as s:
            [event] = repo.list_audit_events(s, actor="engineer:alice")
        assert (event.action, event.details) == ("thresholds_changed", {"t_fail": 9})
        with db.engine.begin() as conn:  # and the step back restores the old column
            command.downgrade(alembic_config(conn), "0001_initial")
            assert conn.execute(sa.text("SELECT role FROM audit_event")).scalar_one() == "engineer:alice"
    finally:
        db.close()
