"""The outputs' seam: typed configs in the profile, the registry, the listener check, and the base
class's queue / back-off / counters, shown with a tiny output kind defined here (one class)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
import yaml
from line_peers import frame_result, wait_for

from resad_station.outputs import Output, OutputConfig, OutputContext, OutputSet, OutputState, register_output
from resad_station.outputs.messages import event_message
from resad_station.outputs.registry import _KINDS, config_union, output_kinds
from resad_station.profiles import Profile, ProfileError, validate_profile_text
from resad_station.runtime.events import AlarmEvent, AlarmStatus, Verdict
from resad_station.runtime.listeners import ListenerError, ListenerSet

DEMO = Path(__file__).resolve().parent.parent / "profiles" / "demo.yaml"


def profile_with(outputs) -> Profile:
    data = yaml.safe_load(DEMO.read_text())
    data["outputs"] = outputs
    return validate_profile_text(yaml.safe_dump(data), "line.yaml")


def errors_of(outputs) -> str:
    with pytest.raises(ProfileError) as info:
        profile_with(outputs)
    return str(info.value)


# -- a tiny output kind: JSON lines into a file; fails while its folder is missing -------------------

class JsonLinesConfig(OutputConfig):
    kind: Literal["jsonl"]
    path: str


class JsonLinesOutput(Output):
    Config = JsonLinesConfig
    tick_s = 0.05

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.release = threading.Event()
        self.release.set()

    def send(self, message):
        self.release.wait()  # a test holds the peer "busy" with this
        path = Path(self.config.path)
        if not path.parent.is_dir():
            raise ConnectionError(f"{path.parent} is gone")
        with path.open("ab") as f:
            f.write(message.body + b"\n")


@pytest.fixture
def jsonl_kind():
    register_output(JsonLinesOutput)
    yield JsonLinesOutput
    _KINDS.pop("jsonl")


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


# -- configs -----------------------------------------------------------------------------------

def test_output_configs_are_typed_and_errors_name_the_field():
    p = profile_with([{"kind": "mqtt", "host": "broker", "qos": 2},
                      {"kind": "modbus", "reject": {"delay_ms": 300, "pulse_ms": 80}},
                      {"kind": "opcua"}, {"kind": "webhook", "url": "https://mes.example/hook"}])
    assert [type(o).__name__ for o in p.outputs] == ["MqttConfig", "ModbusConfig", "OpcUaConfig", "WebhookConfig"]
    assert p.outputs[0].qos == 2 and p.outputs[1].reject.pulse_ms == 80
    assert "line.yaml: outputs.0.qos: input should be 0, 1 or 2" in errors_of([{"kind": "mqtt", "qos": 3}])
    message = errors_of([{"kind": "mqtt"}, {"kind": "mqtt", "hots": "x"}])
    assert "outputs.1.hots: unknown field; expected one of:" in message and "host" in message
    assert "outputs.0.topic: unknown placeholder {cam}" in errors_of([{"kind": "mqtt", "topic": "a/{cam}"}])
    assert "outputs.0.url: expected an http:// or https:// URL" in errors_of([{"kind": "webhook", "url": "ftp://x"}])
    assert "outputs.0.reject.pulse_ms: required field is missing" in errors_of(
        [{"kind": "modbus", "reject": {"delay_ms": 1}}])
    assert "outputs.0.reject: unknown field" in errors_of([{"kind": "mqtt", "reject": {"delay_ms": 1, "pulse_ms": 1}}])
    assert "'nope'" in errors_of([{"kind": "nope"}]) and "'webhook'" in errors_of([{"kind": "nope"}])
    assert "two outputs are called mqtt" in errors_of([{"kind": "mqtt"}, {"kind": "mqtt"}])
    assert profile_with([{"kind": "mqtt"}, {"kind": "mqtt", "name": "mes"}]).outputs[1].label == "mes"


def test_the_profile_knows_every_registered_kind():
    tags = {cfg.model_fields["kind"].annotation.__args__[0] for cfg in config_union().__origin__.__args__}
    assert tags == set(output_kinds()) == {"mqtt", "opcua", "modbus", "webhook"}


def test_shipped_example_profiles_with_outputs_validate():
    from resad_station.profiles import list_profiles

    entries = {e.name: e for e in list_profiles()}
    for name in ("demo-mqtt", "demo-opcua", "demo-modbus", "demo-webhook"):
        assert entries[name].error is None, entries[name].error


# -- listeners ---------------------------------------------------------------------------------

def test_a_misspelt_listener_method_is_an_error_not_a_silent_skip():
    class Typo:
        def on_fram(self, result):
            pass

    listeners = ListenerSet()
    with pytest.raises(ListenerError, match="on_fram is not a runtime event"):
        listeners.add(Typo())
    with pytest.raises(ListenerError, match="has none of the runtime events"):
        listeners.add(object())
    with pytest.raises(ListenerError, match="'on_warning' is not a runtime event"):
        listeners.publish("on_warning", None)


def test_on_event_receives_every_event_without_a_method_of_its_own():
    got = []

    class CatchAll:
        def on_frame(self, result):
            got.append(("frame", result))

        def on_event(self, name, payload):
            got.append((name, payload))

    listeners = ListenerSet()
    listeners.add(CatchAll())
    listeners.publish("on_frame", 1)
    listeners.publish("on_alarm", 2)
    listeners.publish("on_camera_state", 3)
    assert got == [("frame", 1), ("on_alarm", 2), ("on_camera_state", 3)]


def test_events_are_forwarded_generically_from_their_fields():
    @dataclass(frozen=True)
    class DriftWarning:  # an event kind the outputs have never heard of
        camera: str
        product: str
        time: float
        shift: float
        level: Verdict

    message = event_message("on_drift_warning", DriftWarning("cam2", "pcb", 1.5e9, 0.25, Verdict.UNCERTAIN), "L1")
    body = json.loads(message.body)
    assert (message.kind, message.camera) == ("drift_warning", "cam2")
    assert body["type"] == "event" and body["event"] == "drift_warning" and body["line"] == "L1"
    assert body["shift"] == 0.25 and body["level"] == "uncertain" and body["time"].startswith("2017-07-14T02:40")


# -- the base class, through the tiny kind -----------------------------------------------------

def test_a_new_kind_is_one_class_and_runs_through_the_output_set(tmp_path, jsonl_kind):
    out = tmp_path / "out" / "verdicts.jsonl"
    out.parent.mkdir()
    outputs = OutputSet.from_configs([JsonLinesConfig(kind="jsonl", path=str(out))], OutputContext(line="L1"))
    outputs.start()
    for i in range(5):
        outputs.on_frame(frame_result(i, Verdict.FAIL if i == 3 else Verdict.PASS))
    outputs.on_event("on_alarm", AlarmEvent("cam1", "pcb", AlarmStatus.RAISED, 1.0e9, 0.9, 3, "2 consecutive fail(s)"))
    outputs.on_event("on_metrics", object())  # per-frame noise: not forwarded
    wait_for(lambda: len(lines(out)) == 6, what="six lines")
    assert outputs.stop()
    got = lines(out)
    assert [g["frame_id"] for g in got[:5]] == [0, 1, 2, 3, 4] and got[3]["verdict"] == "fail"
    assert got[5]["event"] == "alarm" and got[5]["status"] == "raised" and got[5]["frame_index"] == 3
    (status,) = outputs.statuses()
    assert (status.offered, status.sent, status.dropped, status.queued) == (6, 6, 0, 0)


def test_a_dead_peer_fills_the_queue_drops_the_oldest_and_the_counters_reconcile(tmp_path, jsonl_kind):
    folder = tmp_path / "peer"
    folder.mkdir()
    out = folder / "v.jsonl"
    audits, states = [], []
    context = OutputContext(audit=lambda actor, action, details: audits.append(action),
                            publish_status=lambda s: states.append(s.state))
    output = JsonLinesOutput(JsonLinesConfig(kind="jsonl", path=str(out), queue_size=4, backoff_initial_s=0.01,
                                             backoff_max_s=0.05), context)
    output.start()
    wait_for(lambda: output.state is OutputState.CONNECTED)
    folder.rmdir()  # the peer goes away
    for i in range(10):
        output.offer(frame_message(i))
    wait_for(lambda: output.state is OutputState.RECONNECTING, what="reconnecting")
    s = output.status()
    assert s.offered == 10 and s.sent == 0 and s.queued <= 5 and s.offered == s.sent + s.dropped + s.queued
    assert "is gone" in s.last_error
    folder.mkdir()  # back: the queued messages go, in order, the oldest ones were dropped
    wait_for(lambda: output.status().queued == 0, what="queue drained")
    s = output.status()
    assert s.sent + s.dropped == 10 and s.dropped >= 5
    ids = [g["frame_id"] for g in lines(out)]
    assert ids == sorted(ids) and ids[-1] == 9
    assert output.stop()
    assert "output_connected" in audits and "output_disconnected" in audits
    assert OutputState.RECONNECTING in states and states[-1] is OutputState.STOPPED


def test_rate_limit_and_max_attempts_count_as_dropped(tmp_path, jsonl_kind):
    out = tmp_path / "missing" / "v.jsonl"
    output = JsonLinesOutput(JsonLinesConfig(kind="jsonl", path=str(out), max_attempts=2, backoff_initial_s=0.01,
                                             backoff_max_s=0.02, rate_limit_per_s=0.001))
    output.start()
    for i in range(3):  # the first passes the rate limit, the next two are over it
        output.offer(frame_message(i))
    wait_for(lambda: output.status().dropped == 3, what="all three dropped")
    s = output.status()
    assert (s.sent, s.rate_limited, s.queued) == (0, 2, 0) and "dropped after 2 attempts" in s.last_error
    output.stop()


def test_stop_does_not_wait_for_a_peer_that_never_answers(tmp_path, jsonl_kind):
    out = tmp_path / "v.jsonl"
    output = JsonLinesOutput(JsonLinesConfig(kind="jsonl", path=str(out)))
    output.release.clear()  # the peer takes the message and never answers
    output.start()
    output.offer(frame_message(0))
    wait_for(lambda: output.status().queued == 1 and output._pending is not None, what="send in progress")
    assert output.stop(timeout=0.5) is False  # left behind, not waited for
    assert output.state is OutputState.STOPPED and output.status().queued == 1
    output.release.set()


def frame_message(i: int):
    from resad_station.outputs.messages import verdict_message

    return verdict_message(frame_result(i), "L1")


def test_inspect_status_line_shows_the_outputs():
    import io

    from resad_station.cli.inspect_status import StatusLine
    from resad_station.outputs import OutputStatus
    from resad_station.runtime.events import Metrics

    stream = io.StringIO()
    line = StatusLine(stream)
    line.on_output_state(OutputStatus("mqtt", "mqtt", OutputState.RECONNECTING, 120, 3, 7, 130, "refused"))
    line.on_metrics(Metrics("cam1", 30.0, 10.0, 20.0, 10, 10, 0, 0, {"pass": 10}))
    assert "out mqtt reconnecting 120/3" in stream.getvalue()


def test_every_kind_is_known_even_when_one_was_imported_on_its_own_first():
    """Importing one kind's module registers only that kind; the registry still loads them all
    (the profile's `outputs:` refused 'webhook' after a modbus import, in a run of these tests alone)."""
    import subprocess
    import sys

    code = ("import resad_station.outputs.kinds.modbus\n"
            "from resad_station.outputs.registry import output_kinds\n"
            "print(' '.join(sorted(output_kinds())))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.split() == ["modbus", "mqtt", "opcua", "webhook"]


class SlowToConnect(JsonLinesOutput):
    """A peer whose set-up takes a while (as the OPC UA server's does), or never finishes."""

    connect_s = 0.4

    def connect(self):
        self._stop.wait(self.connect_s)


def test_the_line_starts_once_each_output_has_tried_to_connect_and_never_waits_forever(jsonl_kind, tmp_path):
    config = JsonLinesConfig(kind="jsonl", path=str(tmp_path / "out.jsonl"))
    slow = OutputSet([SlowToConnect(config)])
    t0 = time.monotonic()
    slow.start()
    waited = time.monotonic() - t0
    try:
        assert waited >= SlowToConnect.connect_s * 0.9  # set up before the first frame is inspected
        assert slow.outputs[0].state is OutputState.CONNECTED
    finally:
        slow.stop(timeout=1.0)

    never = SlowToConnect(config)
    never.connect_s = 60.0
    stuck = OutputSet([never])
    t0 = time.monotonic()
    stuck.start(wait_s=0.3)
    try:
        assert time.monotonic() - t0 < 5.0 and never.state is OutputState.CONNECTING  # the line starts anyway
    finally:
        stuck.stop(timeout=1.0)
