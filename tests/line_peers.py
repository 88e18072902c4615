"""Real peers on loopback for the output tests: a Mosquitto broker, an MQTT subscriber, an HTTP
receiver, a peer that accepts and never answers, and frame results to feed the outputs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from resad_station.runtime.events import FrameResult, Verdict

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


def wait_for(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not met in {timeout} s"
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need_mosquitto() -> str:
    if MOSQUITTO is None:
        reason = "needs the MQTT broker: install the Debian package `mosquitto` (apt-get install mosquitto)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " - CI must have it (.ci/run installs it)")
        pytest.skip(reason)
    return MOSQUITTO


class Broker:
    """A real Mosquitto on a free loopback port; kill() and start() again on the same port."""

    def __init__(self, folder: Path) -> None:
        self.binary = need_mosquitto()
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                             "log_type error\n")
        self.process: subprocess.Popen | None = None

    def start(self) -> "Broker":
        self.process = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_for(self._accepts, what=f"mosquitto on port {self.port}")
        return self

    def _accepts(self) -> bool:
        assert self.process.poll() is None, f"mosquitto exited with {self.process.returncode}"
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)


class Subscriber:
    """An MQTT client that keeps every message it gets (topic, JSON or bytes, retained flag)."""

    def __init__(self, port: int, topic: str = "#") -> None:
        import paho.mqtt.client as mqtt

        self.lock = threading.Lock()
        self.messages: list[tuple[str, object, bool, float]] = []
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{port}")
        self.client.on_connect = lambda c, u, f, rc, p=None: (c.subscribe(topic, qos=1), self.ready.set())
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.ready.wait(30), "subscriber could not connect"

    def _on_message(self, client, userdata, msg) -> None:
        try:
            body: object = json.loads(msg.payload)
        except ValueError:
            body = msg.payload
        with self.lock:
            self.messages.append((msg.topic, body, bool(msg.retain), time.time()))

    def on(self, topic: str) -> list:
        with self.lock:
            return [m[1] for m in self.messages if m[0] == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Receiver:
    """A local http.server that keeps each POST (headers, body) and answers `status`; with
    keep_alive it speaks HTTP/1.1 and keeps connections open, as most web servers do."""

    def __init__(self, status: int = 200, keep_alive: bool = False) -> None:
        self.status = status
        self.requests: list[tuple[dict, bytes]] = []
        self.connections: list[socket.socket] = []  # every connection accepted, in order
        self.answering = threading.Event()  # cleared: requests are taken and never answered (a hung service)
        self.answering.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def setup(self):
                super().setup()
                receiver.connections.append(self.connection)

            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body))
                if not receiver.answering.wait(60):
                    return
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close_connections(self) -> None:
        """End every open connection from the server's side (an idle timeout)."""
        for conn in self.connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.answering.set()
        self.close_connections()
        self.server.shutdown()
        self.server.server_close()


class SilentPeer:
    """Accepts TCP connections and never answers (a hung PLC or web service)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def frame_result(index: int, verdict: Verdict = Verdict.PASS, score: float = 0.1, camera: str = "cam1",
                 product: str = "pcb", captured_at: float | None = None) -> FrameResult:
    now = time.time()
    image = np.zeros((8, 8, 3), np.uint8)
    return FrameResult(camera, product, index, captured_at if captured_at is not None else now, now, score, verdict,
                       0.5, 1.0, image, np.zeros((8, 8), np.float32), {}, f"frame{index:04d}.png")
