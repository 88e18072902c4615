"""`kind: webhook`: an HTTP(S) POST of each message's JSON, signed with HMAC-SHA256.

The signature header reads `sha256=<hex of HMAC-SHA256(secret, body)>`; the secret comes from
the environment variable `secret_env` names. A 2xx answer is delivered; 408, 429 and 5xx are
retried with back-off (up to `max_attempts`); any other 4xx is the receiver refusing the message
for good: dropped and counted, never retried.

The connection is kept open between messages (HTTP/1.1 keep-alive) unless the receiver closes
it: a new TCP connection per verdict (and over https a TLS handshake) was most of this output's
cost at 30 verdicts a second. A kept connection the receiver has closed while idle is found out
when the next request fails before any answer; that request is sent once more on a new one
(never while the output is stopping: then the failure is the stop's own interrupt). Delivery is
at least once: a connection that breaks after the receiver took a message but before its answer
arrived gets the message again; `camera` and `frame_id` identify a verdict.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
import ssl
import threading
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from resad_station.outputs.base import Output, PermanentError
from resad_station.outputs.config import ERROR_PREFIX, OutputConfig, secret_from_env
from resad_station.outputs.messages import Message
from resad_station.outputs.registry import register_output

RETRIED_STATUS = {408, 429}
# how a kept-alive connection that the receiver closed while idle fails, before any answer
STALE_CONNECTION = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    ssl.SSLEOFError, ssl.SSLZeroReturnError)  # https: closed without or with close_notify


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookConfig(OutputConfig):
    kind: Literal["webhook"]
    url: str
    secret_env: str | None = None  # environment variable holding the HMAC secret (None: unsigned)
    signature_header: str = Field(default="X-ResAD-Signature", min_length=1)
    timeout_s: float = Field(default=5.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)
    max_attempts: int | None = Field(default=5, ge=1)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PydanticCustomError(ERROR_PREFIX + "url", "expected an http:// or https:// URL (got {value})",
                                      {"value": value})
        return value


@register_output
class WebhookOutput(Output):
    Config = WebhookConfig
    config: WebhookConfig

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._secret: bytes | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._conn_lock = threading.Lock()

    def describe(self) -> str:
        return self.config.url

    def connect(self) -> None:
        secret = secret_from_env(self.config.secret_env, f"outputs {self.name}: secret_env")
        self._secret = secret.encode("utf-8") if secret is not None else None

    def _open(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.config.url)
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=self.config.timeout_s,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.config.timeout_s)

    def send(self, message: Message) -> None:
        parts = urlsplit(self.config.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Content-Type": "application/json", "User-Agent": "resad-station", **self.config.headers}
        if self._secret is not None:
            headers[self.config.signature_header] = signature(self._secret, message.body)
        with self._conn_lock:
            conn, kept = (self._conn, True) if self._conn is not None else (None, False)
        try:
            response = self._post(conn or self._opened(), path, message.body, headers)
        except STALE_CONNECTION:
            if not kept or self._stop.is_set():  # a new connection failed, or stop() interrupted the send
                raise
            # the receiver closed the kept connection while it was idle (_post dropped it): once more, anew
            response = self._post(self._opened(), path, message.body, headers)
        status = response.status
        if 200 <= status < 300:
            return
        if 400 <= status < 500 and status not in RETRIED_STATUS:
            raise PermanentError(f"HTTP {status} {response.reason} from {self.config.url}: message dropped")
        raise ConnectionError(f"HTTP {status} {response.reason} from {self.config.url}")

    def _opened(self) -> http.client.HTTPConnection:
        conn = self._open()
        with self._conn_lock:
            self._conn = conn
        return conn

    def _post(self, conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict) -> http.client.HTTPResponse:
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
        except BaseException:
            self.disconnect()
            raise
        if response.will_close:  # HTTP/1.0 or "Connection: close": the receiver ends it
            self.disconnect()
        return response

    def disconnect(self) -> None:
        with self._conn_lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def interrupt(self) -> None:
        with self._conn_lock:
            sock = self._conn.sock if self._conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
