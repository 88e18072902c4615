"""The MQTT output through a real Mosquitto broker on a free loopback port: payloads, topics, the
retained state with its last will, and a broker that dies mid-run and comes back."""

from __future__ import annotations

import time

from line_peers import Broker, Subscriber, frame_result, wait_for

from resad_station.outputs import OutputContext, OutputSet, OutputState
from resad_station.outputs.kinds.mqtt import MqttConfig
from resad_station.runtime.events import AlarmEvent, AlarmStatus, Verdict


def mqtt(port: int, **extra) -> MqttConfig:
    return MqttConfig(kind="mqtt", host="127.0.0.1", port=port, backoff_initial_s=0.05, backoff_max_s=0.5, **extra)


def test_verdicts_events_and_retained_state(tmp_path):
    broker = Broker(tmp_path).start()
    sub = Subscriber(broker.port)
    overlays = []
    context = OutputContext(line="L1", render_overlay=lambda r: overlays.append(r.frame_index) or r.image)
    outputs = OutputSet.from_configs([mqtt(broker.port, image={"max_per_s": 1000.0})], context)
    try:
        outputs.start()
        outputs.on_frame(frame_result(0, Verdict.PASS, 0.2))
        outputs.on_frame(frame_result(1, Verdict.FAIL, 1.5))
        outputs.on_event("on_alarm", AlarmEvent("cam1", "pcb", AlarmStatus.RAISED, time.time(), 1.5, 1, "2 fails"))
        wait_for(lambda: len(sub.on("resad/L1/cam1/alarm")) == 1, what="the alarm")
        verdicts = sub.on("resad/L1/cam1/verdict")
        assert [v["frame_id"] for v in verdicts] == [0, 1] and verdicts[1]["verdict"] == "fail"
        assert {"time", "product", "camera", "frame_id", "verdict", "score", "t_uncertain", "t_fail", "latency_ms"} <= set(verdicts[0])
        assert sub.on("resad/L1/cam1/alarm")[0]["status"] == "raised"
        images = sub.on("resad/L1/cam1/image")
        assert overlays == [1] and len(images) == 1 and bytes(images[0][:2]) == b"\xff\xd8"  # a JPEG, fails only
        wait_for(lambda: sub.on("resad/L1/state") and sub.on("resad/L1/state")[-1]["alarm"] is True, what="state")
        assert sub.on("resad/L1/state")[-1]["state"] == "online" and sub.on("resad/L1/state")[-1]["product"] == "pcb"
        outputs.stop()
        wait_for(lambda: sub.on("resad/L1/state")[-1]["state"] == "offline", what="offline on a clean stop")
        late = Subscriber(broker.port, "resad/L1/state")  # retained: a client that comes later still sees it
        wait_for(lambda: late.on("resad/L1/state"), what="retained state")
        assert late.on("resad/L1/state")[-1]["state"] == "offline"
        late.close()
        (output,) = outputs.outputs
        s = output.status()
        assert (s.offered, s.sent, s.dropped, s.queued) == (3, 3, 0, 0)
    finally:
        sub.close()
        broker.kill()


def test_broker_killed_and_restarted_messages_resume_and_counters_reconcile(tmp_path):
    broker = Broker(tmp_path).start()
    outputs = OutputSet.from_configs([mqtt(broker.port, queue_size=20)], OutputContext(line="L1"))
    (output,) = outputs.outputs
    outputs.start()
    try:
        wait_for(lambda: output.state is OutputState.CONNECTED)
        for i in range(5):
            outputs.on_frame(frame_result(i))
        wait_for(lambda: output.status().sent == 5, what="five sent")
        broker.kill()
        wait_for(lambda: output.state is OutputState.RECONNECTING, what="reconnecting")
        for i in range(5, 40):  # offering never blocks; the queue keeps the newest 20
            outputs.on_frame(frame_result(i))
        s = output.status()
        assert s.offered == 40 and s.offered == s.sent + s.dropped + s.queued and s.dropped >= 14
        broker.start()
        sub = Subscriber(broker.port)
        outputs.on_frame(frame_result(40))
        wait_for(lambda: 40 in [v["frame_id"] for v in sub.on("resad/L1/cam1/verdict")], what="resumed")
        sub.close()
        wait_for(lambda: output.status().queued == 0, what="queue drained")
        s = output.status()
        assert s.offered == 41 and s.sent + s.dropped == 41 and s.state is OutputState.CONNECTED
    finally:
        outputs.stop()
        broker.kill()
