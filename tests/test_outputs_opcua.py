"""The station's OPC UA server against a real asyncua client: reads, engineer writes (audited),
writes refused without credentials, and the software trigger answered with its request id."""

from __future__ import annotations

import asyncio
import time

import pytest
from line_peers import frame_result, free_port, wait_for

from resad_station.outputs import OutputContext, OutputSet, OutputState
from resad_station.outputs.credentials import hash_password
from resad_station.outputs.kinds.opcua import OpcUaConfig
from resad_station.runtime.events import AlarmEvent, AlarmStatus, Verdict


@pytest.fixture
def station_server(tmp_path):
    users = tmp_path / "users.yaml"
    users.write_text("users:\n"
                     f"  - {{name: alice, role: engineer, password_hash: '{hash_password('pw-a', 1000)}'}}\n"
                     f"  - {{name: olga, role: operator, password_hash: '{hash_password('pw-o', 1000)}'}}\n")
    port = free_port()
    calls = {"audit": [], "ack": [], "select": []}
    context = OutputContext(line="L1", cameras=("cam1",), base_dir=tmp_path,
                            audit=lambda actor, action, details: calls["audit"].append((actor, action, details)),
                            acknowledge_alarm=lambda camera, actor: calls["ack"].append((camera, actor)) or True,
                            select_product=lambda product, actor: calls["select"].append((product, actor)))
    config = OpcUaConfig(kind="opcua", endpoint=f"opc.tcp://127.0.0.1:{port}/resad/", users_file="users.yaml")
    outputs = OutputSet.from_configs([config], context)
    outputs.start()
    (output,) = outputs.outputs
    wait_for(lambda: output.state in (OutputState.CONNECTED, OutputState.FAILED), what="server up")
    assert output.state is OutputState.CONNECTED, output.last_error
    yield outputs, f"opc.tcp://127.0.0.1:{port}/resad/", calls
    outputs.stop()


def writes(calls, action: str) -> list:
    return [a for a in calls["audit"] if a[1] == action]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


async def _client(url: str, user: str | None = None, password: str | None = None):
    from asyncua import Client

    client = Client(url, timeout=30)
    if user is not None:
        client.set_user(user)
        client.set_password(password)
    await client.connect()
    ns = await client.get_namespace_index("urn:resad-station")
    return client, (lambda name: client.get_node(f"ns={ns};s=cam1.{name}"))


def test_reads_follow_the_verdicts_and_events(station_server):
    outputs, url, _ = station_server
    outputs.on_frame(frame_result(4, Verdict.FAIL, 1.5, product="board-a"))
    outputs.on_frame(frame_result(5, Verdict.PASS, 0.25, product="board-a"))
    outputs.on_event("on_alarm", AlarmEvent("cam1", "board-a", AlarmStatus.RAISED, time.time(), 1.5, 4, "2 fails"))
    (output,) = outputs.outputs
    wait_for(lambda: output.status().sent == 3, what="three messages")

    async def read():
        client, node = await _client(url)
        try:
            return {n: await node(n).read_value() for n in ("Verdict", "VerdictCode", "Score", "Product", "PassCount",
                                                            "FailCount", "UncertainCount", "FrameId", "AlarmActive",
                                                            "LastEvent", "LastUpdate")}
        finally:
            await client.disconnect()

    values = run(read())
    assert (values["Verdict"], values["VerdictCode"], values["Score"], values["Product"]) == ("pass", 1, 0.25, "board-a")
    assert (values["PassCount"], values["FailCount"], values["UncertainCount"], values["FrameId"]) == (1, 1, 0, 5)
    assert values["AlarmActive"] is True and '"event":"alarm"' in values["LastEvent"]
    assert values["LastUpdate"] is not None


def test_writes_need_an_engineer_and_each_is_audited(station_server):
    from asyncua import ua

    outputs, url, calls = station_server

    async def refused(user=None, password=None):
        client, node = await _client(url, user, password)
        try:
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await node("AcknowledgeAlarm").write_value(True)
        finally:
            await client.disconnect()

    run(refused())  # anonymous: may read, never write
    run(refused("olga", "pw-o"))  # an operator neither

    async def wrong_password():
        with pytest.raises(Exception, match="BadUserAccessDenied|Bad"):
            await _client(url, "alice", "wrong")

    run(wrong_password())
    assert calls["ack"] == []
    wait_for(lambda: len(writes(calls, "opcua_write_refused")) == 2, what="refusals audited")
    assert [(a[0], a[2]["nodes"]) for a in writes(calls, "opcua_write_refused")] == [
        ("opcua:anonymous", ["AcknowledgeAlarm"]), ("opcua:olga", ["AcknowledgeAlarm"])]

    async def engineer():
        client, node = await _client(url, "alice", "pw-a")
        try:
            await node("AcknowledgeAlarm").write_value(True)
            await node("SelectProduct").write_value("board-b")
        finally:
            await client.disconnect()

    run(engineer())
    wait_for(lambda: calls["ack"] and calls["select"] and len(writes(calls, "opcua_write")) == 2, what="handling")
    assert calls["ack"] == [("cam1", "engineer:alice")] and calls["select"] == [("board-b", "engineer:alice")]
    assert [(a[0], a[1], a[2]["node"], a[2]["value"]) for a in writes(calls, "opcua_write")] == [
        ("engineer:alice", "opcua_write", "AcknowledgeAlarm", True),
        ("engineer:alice", "opcua_write", "SelectProduct", "board-b")]


def test_software_trigger_answers_the_next_frame_with_its_request_id(station_server):
    outputs, url, _ = station_server
    outputs.on_frame(frame_result(1, Verdict.PASS, 0.1))  # before the trigger: answers nothing

    async def trigger_and_wait(request_id: str) -> str:
        client, node = await _client(url, "alice", "pw-a")
        try:
            await node("Trigger").write_value(request_id)
            await asyncio.sleep(0.05)
            deadline = time.monotonic() + 60
            while request_id not in (answer := await node("TriggerResult").read_value()):
                assert time.monotonic() < deadline, "no trigger answer"
                outputs.on_frame(frame_result(2, Verdict.FAIL, 1.75))  # the camera's next frame
                await asyncio.sleep(0.1)
            return answer
        finally:
            await client.disconnect()

    import json

    answer = json.loads(run(trigger_and_wait("req-42")))
    assert answer["request_id"] == "req-42" and answer["verdict"] == "fail" and answer["frame_id"] == 2
    assert answer["score"] == 1.75
