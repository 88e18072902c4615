"""The Modbus output on loopback: a pymodbus client reads the station's server (registers, reject
pulse, heartbeat, product select), and the output as a client writes to a pymodbus server (the PLC)."""

from __future__ import annotations

import time

import pytest
from line_peers import frame_result, free_port, wait_for

from resad_station.outputs import OutputContext, OutputSet, OutputState
from resad_station.outputs.kinds.modbus import ModbusConfig, _Server
from resad_station.outputs.reject import LATE_MESSAGE
from resad_station.runtime.events import AlarmEvent, AlarmStatus, Verdict


@pytest.fixture
def plc_client():
    from pymodbus.client import ModbusTcpClient

    clients = []

    def connect(port: int) -> ModbusTcpClient:
        client = ModbusTcpClient("127.0.0.1", port=port, timeout=10)
        wait_for(client.connect, what=f"modbus server on {port}")
        clients.append(client)
        return client

    yield connect
    for c in clients:
        c.close()


def test_server_registers_reject_pulse_and_product_select(plc_client):
    port = free_port()
    selected, alarms = [], []
    context = OutputContext(line="L1", cameras=("cam1",), select_product=lambda p, actor: selected.append((p, actor)),
                            raise_alarm=lambda camera, message: alarms.append((camera, message)))
    config = ModbusConfig(kind="modbus", host="127.0.0.1", port=port, products=("board-a", "board-b"),
                          heartbeat_s=0.05, reject={"delay_ms": 400, "pulse_ms": 1500})
    outputs = OutputSet.from_configs([config], context)
    (output,) = outputs.outputs
    outputs.start()
    wait_for(lambda: output.state is OutputState.CONNECTED)
    plc = plc_client(port)
    try:
        hb = plc.read_holding_registers(2, count=1, device_id=1).registers[0]
        wait_for(lambda: plc.read_holding_registers(2, count=1, device_id=1).registers[0] != hb, what="heartbeat")
        outputs.on_frame(frame_result(1, Verdict.FAIL, 1.2345))  # captured now: the pulse is 400 ms ahead
        wait_for(lambda: plc.read_coils(0, count=1, device_id=1).bits[0], what="reject coil high")
        wait_for(lambda: plc.read_holding_registers(0, count=2, device_id=1).registers == [3, 123],
                 what="verdict code fail, score x 100")
        wait_for(lambda: not plc.read_coils(0, count=1, device_id=1).bits[0], what="reject coil low again")
        assert output.gate.fired == 1 and output.gate.late == 0
        # a verdict that comes after its gate opened is never fired: counted, and it raises the alarm
        outputs.on_frame(frame_result(2, Verdict.FAIL, 2.0, captured_at=time.time() - 10))
        assert output.gate.late == 1 and alarms and alarms[0][0] == "cam1" and LATE_MESSAGE in alarms[0][1]
        outputs.on_frame(frame_result(3, Verdict.PASS, 0.2))
        wait_for(lambda: plc.read_holding_registers(0, count=2, device_id=1).registers == [1, 20], what="pass")
        assert output.gate.fired == 1 and output.gate.scheduled == 1
        outputs.on_event("on_alarm", AlarmEvent("cam1", "pcb", AlarmStatus.RAISED, time.time()))
        wait_for(lambda: plc.read_coils(1, count=1, device_id=1).bits[0], what="alarm coil")
        outputs.on_event("on_alarm", AlarmEvent("cam1", "pcb", AlarmStatus.ACKNOWLEDGED, time.time()))
        wait_for(lambda: not plc.read_coils(1, count=1, device_id=1).bits[0], what="alarm coil off")
        plc.write_register(3, 2, device_id=1)  # the PLC selects the second product
        wait_for(lambda: selected, what="product select")
        assert selected == [("board-b", "plc:modbus")]
        plc.write_register(3, 9, device_id=1)  # out of range: refused, said so
        wait_for(lambda: "product select 9" in output.status().last_error, what="refused select")
        assert selected == [("board-b", "plc:modbus")]
    finally:
        outputs.stop()
    s = output.status()
    assert s.rejects_fired == 1 and s.rejects_late == 1 and s.offered == s.sent + s.dropped + s.queued


def test_client_writes_to_the_plc_and_reconnects_when_it_comes_back():
    port = free_port()
    plc = _Server("127.0.0.1", port, coils=2, registers=4, timeout=10)  # the PLC's own Modbus server
    config = ModbusConfig(kind="modbus", mode="client", host="127.0.0.1", port=port, backoff_initial_s=0.05,
                          backoff_max_s=0.2)
    outputs = OutputSet.from_configs([config])
    (output,) = outputs.outputs
    outputs.start()
    try:
        outputs.on_frame(frame_result(1, Verdict.UNCERTAIN, 0.75))
        wait_for(lambda: plc.read_register(0) == 2 and plc.read_register(1) == 75, what="registers on the PLC")
        plc.close()  # the PLC goes away
        outputs.on_frame(frame_result(2, Verdict.FAIL, 1.5))
        wait_for(lambda: output.state is OutputState.RECONNECTING, what="reconnecting")
        plc = _Server("127.0.0.1", port, coils=2, registers=4, timeout=10)
        wait_for(lambda: plc.read_register(0) == 3 and plc.read_register(1) == 150, what="resumed")
    finally:
        outputs.stop()
        plc.close()
    s = output.status()
    assert (s.offered, s.sent, s.queued) == (2, 2, 0)
