"""All four outputs on a running station (real engine, real demo boards, real peers): the broker
dies mid-run and comes back while inspection goes on; the reject gate's late verdicts raise the
station's alarm; an engineer acknowledges it over OPC UA; connects and writes are in the audit log."""

from __future__ import annotations

import asyncio

from line_peers import Broker, Receiver, Subscriber, free_port, wait_for
from station_helpers import LINE_FILES, Events, write_profile

from resad_station.outputs.credentials import hash_password
from resad_station.outputs.reject import LATE_MESSAGE
from resad_station.runtime.events import AlarmStatus
from resad_station.runtime.station import Station
from resad_station.storage import repository as repo


async def acknowledge(url: str) -> None:
    from asyncua import Client

    client = Client(url, timeout=30)
    client.set_user("alice")
    client.set_password("pw-a")
    await client.connect()
    try:
        ns = await client.get_namespace_index("urn:resad-station")
        await client.get_node(f"ns={ns};s=cam1.AcknowledgeAlarm").write_value(True)
    finally:
        await client.disconnect()


def test_all_outputs_on_a_running_line_survive_a_broker_restart(tmp_path):
    broker = Broker(tmp_path).start()
    receiver = Receiver()
    (tmp_path / "users.yaml").write_text(
        f"users:\n  - {{name: alice, role: engineer, password_hash: '{hash_password('pw-a', 1000)}'}}\n")
    opcua_port, modbus_port = free_port(), free_port()
    url = f"opc.tcp://127.0.0.1:{opcua_port}/resad/"
    fast = {"backoff_initial_s": 0.05, "backoff_max_s": 0.5}
    outputs = [
        {"kind": "mqtt", "host": "127.0.0.1", "port": broker.port, "events": False, "queue_size": 1000, **fast},
        {"kind": "opcua", "endpoint": url, "users_file": str(tmp_path / "users.yaml")},
        {"kind": "modbus", "host": "127.0.0.1", "port": modbus_port, "reject": {"delay_ms": 0, "pulse_ms": 50}},
        {"kind": "webhook", "url": receiver.url},
    ]
    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "loop": True, "fps": 20, "mode": "live"}
    profile = write_profile(tmp_path, "line", "pcb", camera, outputs=outputs, thresholds={"debounce_frames": 50})
    events = Events()
    sub = Subscriber(broker.port)
    try:
        with Station.open(profile, tmp_path / "data") as station:
            station.add_listener(events)
            station.start()
            mqtt_out = station.outputs.outputs[0]
            wait_for(lambda: mqtt_out.status().sent >= 3, timeout=300, what="verdicts reach the broker")
            broker.kill()
            wait_for(lambda: mqtt_out.status().state.value == "reconnecting", what="mqtt reconnecting")
            inspected = station.metrics().frames_inspected
            wait_for(lambda: station.metrics().frames_inspected >= inspected + 3, timeout=300,
                     what="inspection goes on while the broker is down")
            broker.start()
            sub.close()
            sub = Subscriber(broker.port)
            wait_for(lambda: len(sub.on("resad/line/cam1/verdict")) >= 2, timeout=120, what="messages resume")
            # every fail is late for a gate at 0 ms: counted, never fired, and the station's alarm sounds
            wait_for(lambda: any(LATE_MESSAGE in a.message for a in events.alarms), timeout=300, what="late alarm")
            asyncio.run(asyncio.wait_for(acknowledge(url), 120))
            wait_for(lambda: any(a.status is AlarmStatus.ACKNOWLEDGED for a in events.alarms), what="acknowledged")
            assert station.stop()
            summary = station.summary()
            with station.db.read_session() as s:
                audit = [(e.actor, e.action) for e in repo.list_audit_events(s, limit=200)]
    finally:
        sub.close()
        receiver.close()
        broker.kill()
    by_name = {o["name"]: o for o in summary["outputs"]}
    for o in summary["outputs"]:
        assert o["offered"] == o["sent"] + o["dropped"] + o["queued"], o
    assert by_name["mqtt"]["offered"] == summary["frames_inspected"]  # verdicts only: each one accounted for
    assert by_name["webhook"]["sent"] >= summary["frames_inspected"] - by_name["webhook"]["queued"] - by_name["webhook"]["dropped"]
    assert by_name["modbus"]["rejects_late"] >= 1 and by_name["modbus"]["rejects_fired"] == 0
    ack = next(a for a in events.alarms if a.status is AlarmStatus.ACKNOWLEDGED)
    assert ack.message == "acknowledged by engineer:alice"
    assert ("engineer:alice", "opcua_write") in audit
    assert ("system", "output_connected") in audit and ("system", "output_disconnected") in audit
