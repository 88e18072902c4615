"""Benchmark of the line outputs on loopback: what they cost inspection, and how fast they deliver.

    python -m resad_station.runtime.bench_outputs --profile demo --fps 30 --seconds 60

Runs the demo line live twice, without outputs and with mqtt + opcua + modbus + webhook all on
(a real Mosquitto on a free port, a local HTTP receiver, a pymodbus client polling, an asyncua
client), and prints one JSON document: p95 capture-to-verdict of both runs, verdict-to-broker
delivery (a subscriber's receive time minus the verdict's decided_at), messages lost while the
broker was up, and the OPC UA software-trigger round trip (write Trigger, read TriggerResult).
A benchmark, not a test: the numbers depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from resad_station.runtime.station import Station, load_detector, resolve_profile


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    a = np.asarray(values)
    return {"n": int(a.size), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p95_ms": round(float(np.percentile(a, 95)), 2), "max_ms": round(float(a.max()), 2)}


def _broker(folder: Path) -> tuple[subprocess.Popen, int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = _port()
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_type error\n")
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


class _Deliveries:
    """An MQTT subscriber noting when each verdict arrived, against the verdict's decided_at."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as mqtt

        self.delays_ms: list[float] = []
        self.frames: set[tuple[int, float]] = set()
        ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-sub")
        self.client.on_connect = lambda c, u, f, rc, p=None: (c.subscribe("resad/+/+/verdict", qos=1), ready.set())
        self.client.on_message = self._got
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        ready.wait(30)

    def _got(self, client, userdata, msg) -> None:
        doc = json.loads(msg.payload)
        self.delays_ms.append((time.time() - doc["decided_at"]) * 1000.0)
        self.frames.add((doc["frame_id"], doc["captured_at"]))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _receiver() -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hook"


async def _trigger_round_trips(url: str, camera: str, count: int) -> list[float]:
    from asyncua import Client

    client = Client(url, timeout=30)
    client.set_user("bench")
    client.set_password("bench")
    await client.connect()
    out = []
    try:
        ns = await client.get_namespace_index("urn:resad-station")
        trigger, result = (client.get_node(f"ns={ns};s={camera}.{n}") for n in ("Trigger", "TriggerResult"))
        for i in range(count):
            request = f"bench-{i}"
            t0 = time.perf_counter()
            await trigger.write_value(request)
            while f'"{request}"' not in await result.read_value():
                await asyncio.sleep(0.002)
            out.append((time.perf_counter() - t0) * 1000.0)
    finally:
        await client.disconnect()
    return out


def _run(profile, data_dir: Path, detector, seconds: float, probe=None) -> dict:
    with Station.open(profile, data_dir, detector=detector) as station:
        station.start()
        extra = probe(station) if probe else {}
        time.sleep(max(0.0, seconds - (time.monotonic() - station_started(station))))
        station.stop()
        return station.summary() | extra


def station_started(station) -> float:
    return time.monotonic() - (time.time() - station.started_at)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--method", choices=("resad", "knn", "resad+knn"))
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--triggers", type=int, default=30, help="OPC UA trigger round trips to time")
    args = ap.parse_args(argv)

    from resad_station.outputs.credentials import hash_password

    work = Path(tempfile.mkdtemp(prefix="resad-bench-outputs-"))
    base = resolve_profile(args.profile, None)
    engine = {"method": args.method} if args.method else {}
    base = base.model_copy(update={"engine": base.engine.model_copy(update=engine), "camera": base.camera.model_copy(
        update={"mode": "live", "fps": args.fps, "loop": True})})
    detector = load_detector(base)
    broker, mqtt_port = _broker(work)
    http, hook = _receiver()
    users = work / "users.yaml"
    users.write_text(f"users:\n  - {{name: bench, role: engineer, password_hash: '{hash_password('bench', 1000)}'}}\n")
    opcua = f"opc.tcp://127.0.0.1:{_port()}/resad/"
    modbus_port = _port()
    configs = [
        {"kind": "mqtt", "host": "127.0.0.1", "port": mqtt_port, "events": False, "queue_size": 4096},
        {"kind": "opcua", "endpoint": opcua, "users_file": str(users)},
        {"kind": "modbus", "host": "127.0.0.1", "port": modbus_port, "reject": {"delay_ms": 500, "pulse_ms": 50}},
        {"kind": "webhook", "url": hook},
    ]
    from pydantic import TypeAdapter

    from resad_station.outputs import config_union

    adapter = TypeAdapter(config_union())
    with_outputs = base.model_copy(update={"outputs": tuple(adapter.validate_python(c) for c in configs)})
    try:
        plain = _run(base.model_copy(update={"outputs": ()}), work / "plain", detector, args.seconds)
        deliveries = _Deliveries(mqtt_port)

        def probe(station) -> dict:
            deadline = time.monotonic() + 60
            while any(o.state.value != "connected" for o in station.outputs.outputs) and time.monotonic() < deadline:
                time.sleep(0.05)  # every server up and every client connected
            rtts = asyncio.run(_trigger_round_trips(opcua, base.camera.name, args.triggers))
            return {"opcua_trigger_round_trip": _percentiles(rtts)}

        full = _run(with_outputs, work / "outputs", detector, args.seconds, probe)
        time.sleep(1.0)
        deliveries.close()
    finally:
        broker.kill()
        http.shutdown()
    mqtt = next(o for o in full["outputs"] if o["kind"] == "mqtt")
    report = {
        "fps": args.fps, "seconds": args.seconds, "method": detector.method, "device": str(detector.device),
        "without_outputs": {"latency_ms": plain["latency_ms"], "frames_inspected": plain["frames_inspected"],
                            "frames_dropped": plain["frames_dropped"]},
        "with_outputs": {"latency_ms": full["latency_ms"], "frames_inspected": full["frames_inspected"],
                         "frames_dropped": full["frames_dropped"], "outputs": full["outputs"]},
        "p95_difference_ms": round(full["latency_ms"]["p95_ms"] - plain["latency_ms"]["p95_ms"], 2),
        "verdict_to_broker": _percentiles(deliveries.delays_ms),
        "mqtt_lost_while_broker_up": full["frames_inspected"] - len(deliveries.frames),
        "mqtt_counters": {k: mqtt[k] for k in ("offered", "sent", "dropped", "queued")},
        "opcua_trigger_round_trip": full.get("opcua_trigger_round_trip"),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
