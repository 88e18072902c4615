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
    assert [(r.action, r.role) for r in rows] == [
        ("alarm_raised", "system"), ("alarm_acknowledged", "engineer:eve"), ("alarm_cleared", "engineer:eve")]
    assert rows[1].details["message"] == "acknowledged by engineer:eve"
