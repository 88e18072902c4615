"""The webhook output against a real local http.server: payload, HMAC signature, retries, drops."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading

from line_peers import Receiver, SilentPeer, frame_result, wait_for

from resad_station.outputs import OutputContext, OutputSet, OutputState
from resad_station.outputs.kinds.modbus import ModbusConfig
from resad_station.outputs.kinds.webhook import WebhookConfig
from resad_station.runtime.events import Verdict


def test_posts_signed_json_of_each_verdict(monkeypatch):
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret")
    receiver = Receiver()
    try:
        outputs = OutputSet.from_configs([WebhookConfig(kind="webhook", url=receiver.url, secret_env="TEST_HOOK_SECRET")],
                                         OutputContext(line="L1"))
        outputs.start()
        outputs.on_frame(frame_result(7, Verdict.FAIL, 1.25, captured_at=1000.0))
        wait_for(lambda: len(receiver.requests) == 1, what="one POST")
        outputs.stop()
    finally:
        receiver.close()
    headers, body = receiver.requests[0]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-ResAD-Signature"] == expected and headers["Content-Type"] == "application/json"
    doc = json.loads(body)
    assert (doc["type"], doc["line"], doc["camera"], doc["product"], doc["frame_id"]) == ("verdict", "L1", "cam1", "pcb", 7)
    assert (doc["verdict"], doc["score"], doc["t_uncertain"], doc["t_fail"]) == ("fail", 1.25, 0.5, 1.0)
    assert doc["captured_at"] == 1000.0 and doc["latency_ms"] > 0 and doc["source"] == "frame0007.png"


def test_one_kept_connection_carries_the_verdicts_and_one_the_receiver_closed_is_replaced():
    """HTTP/1.1 receiver: the verdicts share one connection; when the receiver ends it while idle,
    the next verdict goes out on a new one: none lost, and here (the break came before the next
    request) none sent twice."""
    receiver = Receiver(keep_alive=True)
    try:
        outputs = OutputSet.from_configs([WebhookConfig(kind="webhook", url=receiver.url)])
        (output,) = outputs.outputs
        outputs.start()
        for i in range(5):
            outputs.on_frame(frame_result(i))
        wait_for(lambda: output.status().sent == 5, what="five sent")
        assert len(receiver.connections) == 1
        receiver.close_connections()
        for i in range(5, 8):
            outputs.on_frame(frame_result(i))
        wait_for(lambda: output.status().sent == 8, what="three more sent")
        outputs.stop()
    finally:
        receiver.close()
    assert [json.loads(body)["frame_id"] for _, body in receiver.requests] == list(range(8))
    assert len(receiver.connections) == 2
    s = output.status()
    assert (s.offered, s.sent, s.dropped, s.queued) == (8, 8, 0, 0)


def test_stop_interrupting_a_kept_connection_does_not_send_again():
    """A receiver that took a verdict on the kept connection and hangs: stop() ends in time and the
    interrupted send is not taken for a stale connection and sent once more."""
    receiver = Receiver(keep_alive=True)
    try:
        outputs = OutputSet.from_configs([WebhookConfig(kind="webhook", url=receiver.url, timeout_s=600)])
        (output,) = outputs.outputs
        outputs.start()
        outputs.on_frame(frame_result(0))
        wait_for(lambda: output.status().sent == 1, what="the first sent")
        receiver.answering.clear()
        outputs.on_frame(frame_result(1))
        wait_for(lambda: len(receiver.requests) == 2, what="the second taken")
        assert outputs.stop(timeout=1.0), "stop() waited for a receiver that never answers"
    finally:
        receiver.close()
    assert [json.loads(body)["frame_id"] for _, body in receiver.requests] == [0, 1]
    assert len(receiver.connections) == 1
    s = output.status()
    assert s.sent == 1 and s.offered == s.sent + s.dropped + s.queued


def test_a_receiver_that_closes_each_connection_gets_a_new_one_per_message():
    receiver = Receiver()  # HTTP/1.0: the receiver closes after each answer
    try:
        outputs = OutputSet.from_configs([WebhookConfig(kind="webhook", url=receiver.url)])
        outputs.start()
        for i in range(3):
            outputs.on_frame(frame_result(i))
        wait_for(lambda: outputs.outputs[0].status().sent == 3, what="three sent")
        outputs.stop()
    finally:
        receiver.close()
    assert len(receiver.connections) == 3 and len(receiver.requests) == 3


def test_a_missing_secret_fails_the_output_with_the_variable_named(monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    outputs = OutputSet.from_configs([WebhookConfig(kind="webhook", url="http://127.0.0.1:9/x", secret_env="NOT_SET_ANYWHERE")])
    outputs.start()
    (output,) = outputs.outputs
    wait_for(lambda: output.state is OutputState.FAILED, what="failed")
    assert "NOT_SET_ANYWHERE is not set" in output.status().last_error
    outputs.on_frame(frame_result(0))  # still never blocks: counted as queued
    assert output.status().queued == 1
    outputs.stop()


def test_server_errors_are_retried_and_client_errors_dropped():
    receiver = Receiver(status=503)
    try:
        outputs = OutputSet.from_configs([WebhookConfig(kind="webhook", url=receiver.url, backoff_initial_s=0.02,
                                                        backoff_max_s=0.05, max_attempts=None)])
        (output,) = outputs.outputs
        outputs.start()
        outputs.on_frame(frame_result(1))
        wait_for(lambda: len(receiver.requests) >= 3, what="retries")
        assert output.status().sent == 0 and "HTTP 503" in output.status().last_error
        receiver.status = 200
        wait_for(lambda: output.status().sent == 1, what="sent after the server recovered")
        receiver.status = 400
        outputs.on_frame(frame_result(2))
        wait_for(lambda: output.status().dropped == 1, what="dropped on 400")
        posts = len(receiver.requests)
        s = output.status()
        assert (s.offered, s.sent, s.dropped, s.queued) == (2, 1, 1, 0) and "HTTP 400" in s.last_error
        outputs.stop()
        assert len(receiver.requests) == posts  # a refused message is not retried
    finally:
        receiver.close()


def test_peers_that_accept_and_never_answer_do_not_block_stop():
    peer = SilentPeer()
    try:
        outputs = OutputSet.from_configs([
            WebhookConfig(kind="webhook", url=f"http://127.0.0.1:{peer.port}/hook", timeout_s=600),
            ModbusConfig(kind="modbus", mode="client", host="127.0.0.1", port=peer.port, timeout_s=600),
        ])
        outputs.start()
        for i in range(3):
            outputs.on_frame(frame_result(i))
        wait_for(lambda: len(peer.accepted) >= 2, what="both connected to the silent peer")
        done = threading.Event()
        threading.Thread(target=lambda: (outputs.stop(timeout=1.0), done.set()), daemon=True).start()
        assert done.wait(120), "stop() waited for a peer that never answers"
        for output in outputs.outputs:
            s = output.status()
            assert s.state is OutputState.STOPPED and s.sent == 0 and s.offered == s.sent + s.dropped + s.queued
    finally:
        peer.close()


def test_outputs_test_command_reports_each_output(tmp_path, capsys):
    from station_helpers import write_profile

    from resad_station.cli.main import main

    receiver = Receiver()
    try:
        camera = {"kind": "folder", "uri": str(tmp_path)}
        good = write_profile(tmp_path, "hooked", "pcb", camera, outputs=[{"kind": "webhook", "url": receiver.url}])
        assert main(["outputs", "test", "--profile", str(good)]) == 0
        assert "ok   webhook" in capsys.readouterr().out
        doc = json.loads(receiver.requests[0][1])
        assert doc["type"] == "test" and doc["line"] == "hooked"
        bad = write_profile(tmp_path, "dead", "pcb", camera, outputs=[
            {"kind": "webhook", "name": "mes", "url": "http://127.0.0.1:9/x", "backoff_initial_s": 0.05}])
        assert main(["outputs", "test", "--profile", str(bad), "--timeout", "2"]) == 1
        out = capsys.readouterr().out
        assert "FAIL mes" in out and "http://127.0.0.1:9/x" in out and "refused" in out.lower()
    finally:
        receiver.close()
