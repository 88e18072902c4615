"""Benchmark of the line outputs on loopback: what they cost inspection, and how fast they deliver.

    python -m resad_station.runtime.bench_outputs --profile demo --fps 30 --seconds 30 --pairs 2

Runs the demo line live without outputs and with mqtt + opcua + modbus + webhook all on,
alternated `--pairs` times (a real Mosquitto on a free port; the MES subscriber, the HTTP
receiver and a PLC polling the Modbus registers at 20 Hz run in a child process, as they would
on other machines), then a short run for the OPC UA software trigger (write Trigger, poll
TriggerResult every 10 ms). Prints one JSON document: p95 capture-to-verdict of each run,
verdict-to-broker delivery (the subscriber's receive time minus the verdict's decided_at),
messages lost while the broker was up, and the trigger round trip.
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

from resad_station.runtime.heap import collector_pauses, freeze_startup_heap
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
        protocol_version = "HTTP/1.1"  # keeps connections open, as web servers do

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
                await asyncio.sleep(0.01)  # a PLC's scan is coarser than this
            out.append((time.perf_counter() - t0) * 1000.0)
    finally:
        await client.disconnect()
    return out


def _peers(mqtt_port: int, modbus_port: int, results, stop) -> None:
    """A child process: what the line's side would be (MES subscriber, web receiver, PLC polling)."""
    from pymodbus.client import ModbusTcpClient

    deliveries = _Deliveries(mqtt_port)
    http, hook = _receiver()
    results.put(hook)
    plc = ModbusTcpClient("127.0.0.1", port=modbus_port)
    polls = 0
    while not stop.is_set():  # a PLC scanning the verdict registers at 20 Hz
        if plc.connected or plc.connect():
            try:
                plc.read_holding_registers(0, count=3, device_id=1)
                polls += 1
            except Exception:  # noqa: BLE001 - the server is not up yet / already gone
                plc.close()
        time.sleep(0.05)
    time.sleep(1.0)
    deliveries.close()
    http.shutdown()
    results.put({"delays_ms": deliveries.delays_ms, "frames": len(deliveries.frames), "plc_polls": polls})


def _run(profile, data_dir: Path, detector, seconds: float, probe=None) -> dict:
    with Station.open(profile, data_dir, detector=detector) as station:
        station.start()
        t0 = time.monotonic()
        with collector_pauses() as pauses:  # the full collections the line itself ran into
            extra = (probe(station) if probe else None) or {}
            time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
        station.stop()
        return station.summary() | extra | {"full_collections_ms": [round(p, 1) for p in pauses[2]]}


def _wait_connected(station, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while any(o.state.value != "connected" for o in station.outputs.outputs) and time.monotonic() < deadline:
        time.sleep(0.05)


def _on_frame_cost(configs: list, calls: int = 2000) -> dict[str, float]:
    """What the outputs add to the inspection thread itself: OutputSet.on_frame (format once, offer
    to each output, schedule the reject gate), timed on outputs that are not started."""
    from resad_station.outputs import OutputSet
    from resad_station.runtime.events import FrameResult, Verdict

    outputs = OutputSet.from_configs(configs)
    freeze_startup_heap()  # as a started line has (runtime/heap.py): a full collection would be timed too
    image, amap = np.zeros((600, 600, 3), np.uint8), np.zeros((600, 600), np.float32)
    times = []
    for i in range(calls):
        now = time.time()
        result = FrameResult("cam1", "pcb-demo", i, now, now, 0.5, Verdict.FAIL if i % 4 == 0 else Verdict.PASS,
                             0.6, 0.8, image, amap, {}, "bench.png")
        t0 = time.perf_counter()
        outputs.on_frame(result)
        times.append((time.perf_counter() - t0) * 1000.0)
    return _percentiles(times)


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--method", choices=("resad", "knn", "resad+knn"))
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of each run")
    ap.add_argument("--pairs", type=int, default=2, help="runs without / with outputs, alternated")
    ap.add_argument("--triggers", type=int, default=30, help="OPC UA trigger round trips to time (a run of its own)")
    args = ap.parse_args(argv)

    from pydantic import TypeAdapter

    from resad_station.outputs import config_union
    from resad_station.outputs.credentials import hash_password

    work = Path(tempfile.mkdtemp(prefix="resad-bench-outputs-"))
    base = resolve_profile(args.profile, None)
    engine = {"method": args.method} if args.method else {}
    base = base.model_copy(update={"engine": base.engine.model_copy(update=engine), "camera": base.camera.model_copy(
        update={"mode": "live", "fps": args.fps, "loop": True}), "outputs": ()})
    detector = load_detector(base)
    broker, mqtt_port = _broker(work)
    users = work / "users.yaml"
    users.write_text(f"users:\n  - {{name: bench, role: engineer, password_hash: '{hash_password('bench', 1000)}'}}\n")
    opcua = f"opc.tcp://127.0.0.1:{_port()}/resad/"
    modbus_port = _port()
    adapter = TypeAdapter(config_union())
    ctx = multiprocessing.get_context("spawn")
    runs: dict[str, list] = {"without": [], "with": []}
    try:
        for i in range(args.pairs):
            runs["without"].append(_run(base, work / f"plain{i}", detector, args.seconds))
            results, stop = ctx.Queue(), ctx.Event()
            peers = ctx.Process(target=_peers, args=(mqtt_port, modbus_port, results, stop), daemon=True)
            peers.start()
            hook = results.get(timeout=120)
            configs = [
                {"kind": "mqtt", "host": "127.0.0.1", "port": mqtt_port, "events": False, "queue_size": 4096},
                {"kind": "opcua", "endpoint": opcua, "users_file": str(users)},
                {"kind": "modbus", "host": "127.0.0.1", "port": modbus_port,
                 "reject": {"delay_ms": 1000, "pulse_ms": 50}},
                {"kind": "webhook", "url": hook},
            ]
            full = base.model_copy(update={"outputs": tuple(adapter.validate_python(c) for c in configs)})
            summary = _run(full, work / f"outputs{i}", detector, args.seconds, _wait_connected)
            stop.set()
            summary["peers"] = results.get(timeout=120)
            peers.join(30)
            runs["with"].append(summary)
        trigger = base.model_copy(update={"outputs": (adapter.validate_python(
            {"kind": "opcua", "endpoint": opcua, "users_file": str(users)}),)})

        def round_trips(station) -> dict:
            _wait_connected(station)
            rtts = asyncio.run(_trigger_round_trips(opcua, base.camera.name, args.triggers))
            return {"round_trips": _percentiles(rtts)}

        triggered = _run(trigger, work / "trigger", detector, 1.0, round_trips)
        cost = _on_frame_cost([adapter.validate_python(c | ({"queue_size": 4096} if c["kind"] != "mqtt" else {}))
                               for c in configs])
    finally:
        broker.kill()

    def brief(summary: dict) -> dict:
        return {"latency_ms": summary["latency_ms"], "frames_inspected": summary["frames_inspected"],
                "frames_dropped": summary["frames_dropped"], "full_collections_ms": summary["full_collections_ms"]}

    report = {
        "fps": args.fps, "seconds_per_run": args.seconds, "method": detector.method, "device": str(detector.device),
        "runs_without_outputs": [brief(r) for r in runs["without"]],
        "runs_with_outputs": [brief(r) | {
            "outputs": {o["name"]: {k: o[k] for k in ("offered", "sent", "dropped", "queued", "rejects_fired",
                                                       "rejects_late")} for o in r["outputs"]},
            "verdict_to_broker": _percentiles(r["peers"]["delays_ms"]),
            "mqtt_lost_while_broker_up": r["frames_inspected"] - r["peers"]["frames"],
            "plc_polls": r["peers"]["plc_polls"]} for r in runs["with"]],
        "p95_difference_ms": [round(b["latency_ms"]["p95_ms"] - a["latency_ms"]["p95_ms"], 2)
                              for a, b in zip(runs["without"], runs["with"])],
        "opcua_trigger_round_trip": triggered["round_trips"],
        "on_frame_in_inspection_thread": cost,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
