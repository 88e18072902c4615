"""`kind: mqtt`: each verdict and event as JSON to an MQTT broker (paho-mqtt), plus a retained state.

The state topic is retained and carries {"state": "online"/"offline", "product", "alarm"}: the
broker publishes "offline" itself (the last will) if the station vanishes. With QoS 1 or 2 a
message counts as sent when the broker acknowledged it; the next one goes only then, so nothing
piles up inside the client where the counters cannot see it. An optional JPEG of the heatmap
overlay goes to `image.topic`, rate-limited.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Literal

from pydantic import Field, field_validator

from resad_station.outputs.base import Output
from resad_station.outputs.config import OutputConfig, OutputSection, check_template, secret_from_env
from resad_station.outputs.messages import Message, iso_time
from resad_station.outputs.registry import register_output
from resad_station.rate_limit import RateLimiter

log = logging.getLogger(__name__)

TOPIC_FIELDS = ("line", "camera", "product", "verdict", "event")


class MqttTls(OutputSection):
    ca_file: str | None = None  # None: the system's trusted CAs
    cert_file: str | None = None  # client certificate, when the broker asks for one
    key_file: str | None = None
    insecure: bool = False  # skip the host name check (test brokers only)


class MqttImage(OutputSection):
    topic: str = "resad/{line}/{camera}/image"
    max_per_s: float = Field(default=1.0, gt=0)
    quality: int = Field(default=80, ge=1, le=100)
    verdicts: tuple[Literal["pass", "uncertain", "fail"], ...] = ("uncertain", "fail")

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        return check_template(value, TOPIC_FIELDS)


class MqttConfig(OutputConfig):
    kind: Literal["mqtt"]
    host: str = Field(default="localhost", min_length=1)
    port: int = Field(default=1883, ge=1, le=65535)
    tls: MqttTls | None = None
    client_id: str | None = None  # None: resad-<line>-<output name>
    username: str | None = None
    password_env: str | None = None  # environment variable holding the password
    topic: str = "resad/{line}/{camera}/verdict"
    event_topic: str = "resad/{line}/{camera}/{event}"
    state_topic: str = "resad/{line}/state"
    qos: Literal[0, 1, 2] = 1
    keepalive_s: int = Field(default=30, ge=5)
    publish_timeout_s: float = Field(default=5.0, gt=0)
    image: MqttImage | None = None

    @field_validator("topic", "event_topic", "state_topic")
    @classmethod
    def _topics(cls, value: str) -> str:
        return check_template(value, TOPIC_FIELDS)


@register_output
class MqttOutput(Output):
    Config = MqttConfig
    config: MqttConfig
    tick_s = 0.5

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._client: Any = None
        self._connected = threading.Event()
        self._product = ""
        self._alarm: dict[str, bool] = {}
        self._image_gate = RateLimiter(self.config.image.max_per_s) if self.config.image else None

    def _topic(self, template: str, message: Message | None = None) -> str:
        p = message.payload if message is not None else {}
        return template.format(line=self.context.line or "line", camera=(message.camera if message else "") or "station",
                               product=p.get("product", self._product), verdict=p.get("verdict", ""),
                               event=p.get("event", message.kind if message else ""))

    def _state_payload(self, state: str) -> bytes:
        return json.dumps({"state": state, "line": self.context.line, "product": self._product,
                           "alarm": any(self._alarm.values()), "time": iso_time(time.time())}).encode()

    def describe(self) -> str:
        return f"mqtt{'s' if self.config.tls else ''}://{self.config.host}:{self.config.port}"

    def connect(self) -> None:
        import paho.mqtt.client as mqtt

        c = self.config
        password = secret_from_env(c.password_env, f"outputs {self.name}: password_env")
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=c.client_id or f"resad-{self.context.line or 'line'}-{self.name}")
        if c.username is not None:
            client.username_pw_set(c.username, password)
        if c.tls is not None:
            tls = c.tls
            client.tls_set(ca_certs=tls.ca_file and str(self.context.resolve(tls.ca_file)),
                           certfile=tls.cert_file and str(self.context.resolve(tls.cert_file)),
                           keyfile=tls.key_file and str(self.context.resolve(tls.key_file)))
            client.tls_insecure_set(tls.insecure)
        client.will_set(self._topic(c.state_topic), self._state_payload("offline"), qos=1, retain=True)
        self._connected.clear()
        client.on_connect = lambda cl, ud, flags, rc, props=None: self._connected.set() if not rc.is_failure else None
        client.on_disconnect = lambda cl, ud, flags, rc, props=None: self._connected.clear()
        client.connect_timeout = c.publish_timeout_s
        self._client = client
        client.connect(c.host, c.port, keepalive=c.keepalive_s)
        client.loop_start()
        if not self._connected.wait(c.publish_timeout_s):
            raise ConnectionError(f"broker {c.host}:{c.port} did not accept the connection")
        self._publish(self._topic(c.state_topic), self._state_payload("online"), retain=True)

    def _publish(self, topic: str, body: bytes, retain: bool = False) -> None:
        import paho.mqtt.client as mqtt

        client = self._client
        if client is None or not self._connected.is_set():
            raise ConnectionError("not connected to the broker")
        info = client.publish(topic, body, qos=self.config.qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"publish to {topic}: {mqtt.error_string(info.rc)}")
        deadline = time.monotonic() + self.config.publish_timeout_s
        while not info.is_published():  # short waits: stop() and a lost broker are noticed at once
            if self._stop.is_set() or not self._connected.is_set():
                raise ConnectionError(f"the broker went away before it acknowledged {topic}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no acknowledgement for {topic} in {self.config.publish_timeout_s} s")
            info.wait_for_publish(0.05)

    def tick(self) -> None:
        if not self._connected.is_set():  # the broker went away while nothing was sent: say so now
            raise ConnectionError(f"lost the broker {self.config.host}:{self.config.port}")

    def send(self, message: Message) -> None:
        c = self.config
        if message.kind == "verdict":
            self._publish(self._topic(c.topic, message), message.body)
            product = message.payload.get("product", "")
            if product != self._product:
                self._product = product
                self._publish(self._topic(c.state_topic), self._state_payload("online"), retain=True)
            self._send_image(message)
            return
        self._publish(self._topic(c.event_topic, message), message.body)
        if message.kind == "alarm":
            self._alarm[message.camera] = message.payload.get("status") == "raised"
            self._publish(self._topic(c.state_topic), self._state_payload("online"), retain=True)

    def _send_image(self, message: Message) -> None:
        image = self.config.image
        render = self.context.render_overlay
        if image is None or render is None or message.frame is None:
            return
        if message.payload.get("verdict") not in image.verdicts or not self._image_gate.allow():
            return
        import cv2

        rgb = render(message.frame)
        ok, jpeg = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, image.quality])
        if ok:
            self._publish(self._topic(image.topic, message), jpeg.tobytes())

    def disconnect(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if self._connected.is_set() and self._stop.is_set():  # a clean stop says so (the will is for a crash)
            try:
                self._publish_state_offline(client)
            except Exception:  # noqa: BLE001
                log.debug("output %s: offline state not published", self.name, exc_info=True)
        self._connected.clear()
        client.disconnect()
        client.loop_stop()

    def _publish_state_offline(self, client: Any) -> None:
        info = client.publish(self._topic(self.config.state_topic), self._state_payload("offline"), qos=1, retain=True)
        info.wait_for_publish(1.0)
