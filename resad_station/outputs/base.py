"""The output base class: one thread, a bounded queue, a rate limit, back-off, counters, state.

A kind (kinds/*.py) only connects, formats and sends; everything that keeps a slow or dead peer
away from inspection is here. `offer()` is called from runtime threads and never blocks: when
the queue is full the oldest message is dropped and counted. The thread connects, sends in
order, and on a failure disconnects, waits (exponential back-off) and tries the same message
again (up to `max_attempts`). Counters always reconcile:

    offered == sent + dropped + queued      (queued includes the message being retried)

Connected / disconnected are state changes published to the runtime's listeners (GUI status
bar, `inspect`'s status line) and written to the audit log.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

from resad_station.outputs.config import OutputConfig, SecretError
from resad_station.outputs.messages import Message
from resad_station.outputs.reject import LATE_MESSAGE, RejectGate
from resad_station.rate_limit import RateLimiter

log = logging.getLogger(__name__)

STATUS_EVERY_S = 1.0  # counters go to the status bar at most this often


class OutputState(str, enum.Enum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"  # cannot work as configured (a missing secret, a bad address): see last_error


@dataclass(frozen=True)
class OutputStatus:
    name: str
    kind: str
    state: OutputState
    sent: int
    dropped: int
    queued: int
    offered: int
    last_error: str = ""
    rate_limited: int = 0  # part of dropped
    rejects_fired: int = 0
    rejects_late: int = 0
    time: float = 0.0

    def short(self) -> str:
        late = f" late {self.rejects_late}" if self.rejects_late else ""
        return f"{self.name} {self.state.value} {self.sent}/{self.dropped}{late}"


class PermanentError(Exception):
    """The peer refused this message for good (an HTTP 4xx): drop it, do not retry."""


def _no_audit(actor: str, action: str, details: dict[str, Any]) -> None:
    return None


@dataclass
class OutputContext:
    """What outputs may ask of the station; every callback is safe from any thread."""

    line: str = ""  # the profile's name: fills {line} in topics, `line` in payloads
    cameras: tuple[str, ...] = ()
    base_dir: Path = field(default_factory=Path.cwd)  # relative files (credentials) resolve against it
    audit: Callable[[str, str, dict[str, Any]], None] = _no_audit
    raise_alarm: Callable[[str, str], None] = lambda camera, message: None
    acknowledge_alarm: Callable[[str, str], bool] = lambda camera, actor: False
    select_product: Callable[[str, str], None] = lambda product, actor: None
    publish_status: Callable[[OutputStatus], None] = lambda status: None
    render_overlay: Callable[[Any], Any] | None = None  # FrameResult -> HxWx3 RGB heatmap overlay

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()


class Output:
    """Subclass, set `Config`, decorate with @register_output and implement send()."""

    kind: ClassVar[str] = ""
    Config: ClassVar[type[OutputConfig]] = OutputConfig
    tick_s: ClassVar[float] = 1.0  # tick() runs this often while the queue is idle

    def __init__(self, config: OutputConfig, context: OutputContext | None = None) -> None:
        self.config = config
        self.context = context or OutputContext()
        self.name = config.label
        self._cond = threading.Condition()
        self._queue: deque[Message] = deque()
        self._pending: Message | None = None
        self._attempts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.first_attempt = threading.Event()  # the first connect has succeeded or failed
        self._limiter = RateLimiter(config.rate_limit_per_s)
        self.state = OutputState.STOPPED
        self.last_error = ""
        self.sent = self.dropped = self.offered = self.rate_limited = 0
        self._status_at = 0.0
        reject = getattr(config, "reject", None)
        self.gate = RejectGate(reject, self._pulse, self._late, self.name) if reject is not None else None

    # -- what a kind implements (the output's thread unless said otherwise) ------------------------

    def connect(self) -> None:
        """Open the link to the peer (or start serving); raise on failure."""

    def send(self, message: Message) -> None:
        """Deliver one message; raise on failure (PermanentError: drop it)."""
        raise NotImplementedError

    def disconnect(self) -> None:
        """Close the link; after a failure and at stop. Must not raise."""

    def interrupt(self) -> None:
        """Any thread: unblock a send stuck on a peer that never answers (close its socket)."""

    def tick(self) -> None:
        """Periodic work while idle (heartbeat, polling the peer); raise on a lost link."""

    def describe(self) -> str:
        """Where this output goes, for people (status, `outputs test`)."""
        return self.kind

    def accepts(self, message: Message) -> bool:
        """Whether this output wants the message at all (not counted when it does not)."""
        if self.config.camera is not None and message.camera not in (self.config.camera, "", "test"):
            return False
        return message.kind == "verdict" or message.kind == "test" or self.config.events

    def reject_pulse(self, camera: str, high: bool) -> None:
        """The reject output of `camera` goes high / low (kinds that carry `reject:`), gate thread."""
        raise NotImplementedError(f"{self.kind} outputs carry no reject signal")

    # -- runtime side (any thread, never blocks) -----------------------------------------------

    def offer(self, message: Message) -> bool:
        if not self.accepts(message):
            return False
        with self._cond:
            self.offered += 1
            if message.kind == "verdict" and not self._limiter.allow():
                self.dropped += 1
                self.rate_limited += 1
                return False
            if len(self._queue) >= self.config.queue_size:
                self._queue.popleft()  # the newest verdict matters most to the line
                self.dropped += 1
            self._queue.append(message)
            self._cond.notify()
        return True

    def status(self) -> OutputStatus:
        with self._cond:
            queued = len(self._queue) + (self._pending is not None)
            return OutputStatus(
                self.name, self.kind, self.state, self.sent, self.dropped, queued, self.offered, self.last_error,
                self.rate_limited, self.gate.fired if self.gate else 0, self.gate.late if self.gate else 0,
                time.time())

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"output {self.name} already started")
        self._stop.clear()
        if self.gate is not None:
            self.gate.start()
        self._thread = threading.Thread(target=self._run, name=f"output-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> bool:
        """Deliver what is queued while the peer takes it (half the time at most), then stop.

        True when the thread ended in time; a peer that never answers is interrupted, and the
        thread (a daemon) is left behind rather than blocking the caller.
        """
        deadline = time.monotonic() + timeout
        self.drain(deadline - timeout / 2)
        self.halt()
        return self.join(deadline)

    def drain(self, until: float) -> None:
        """Wait (up to the monotonic time `until`) while a connected peer takes what is queued."""
        with self._cond:
            while (self._queue or self._pending is not None) and self.state is OutputState.CONNECTED \
                    and time.monotonic() < until:
                self._cond.wait(min(0.05, max(0.0, until - time.monotonic())))

    def halt(self) -> None:
        """Tell the thread to stop and unblock it; returns at once."""
        if self.gate is not None:  # before the link closes: no pulse goes to a closing peer
            self.gate.halt()
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        try:
            self.interrupt()
        except Exception:  # noqa: BLE001
            log.debug("output %s: interrupt failed", self.name, exc_info=True)

    def join(self, until: float) -> bool:
        if self.gate is not None:
            self.gate.stop(max(0.05, until - time.monotonic()))
        joined = True
        if self._thread is not None:
            self._thread.join(max(0.05, until - time.monotonic()))
            joined = not self._thread.is_alive()
            if not joined:
                log.warning("output %s: its thread did not stop in time (a peer that never answers); left behind",
                            self.name)
        self._set_state(OutputState.STOPPED)
        return joined

    # -- the output's thread -------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.config.backoff_initial_s
        tick_due = time.monotonic()
        try:
            while not self._stop.is_set():
                if self.state is not OutputState.CONNECTED:
                    connected = self._connect()
                    self.first_attempt.set()
                    if not connected:
                        if self.state is OutputState.FAILED:
                            return
                        self._stop.wait(backoff)
                        backoff = min(backoff * 2, self.config.backoff_max_s)
                        continue
                    backoff = self.config.backoff_initial_s
                message = self._next(max(0.0, tick_due - time.monotonic()))
                try:
                    if time.monotonic() >= tick_due:  # also while messages flow: a heartbeat never pauses
                        tick_due = time.monotonic() + self.tick_s
                        self.tick()
                    if message is not None:
                        self.send(message)
                except PermanentError as exc:
                    self._done(message, sent=False, error=str(exc))
                except Exception as exc:  # noqa: BLE001 - any failure of the peer: back off, retry
                    if self._stop.is_set():
                        break
                    self._failed(message, exc)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.config.backoff_max_s)
                    continue
                else:
                    if message is not None:
                        self._done(message, sent=True)
                self._maybe_publish_status()
        except Exception:  # a bug in a kind must show and still leave the runtime running
            log.exception("output %s: its thread failed", self.name)
            self._set_state(OutputState.FAILED, "internal error (see the log)")
        finally:
            self.first_attempt.set()
            self._disconnect()

    def _connect(self) -> bool:
        self._set_state(OutputState.CONNECTING if self.state in (OutputState.STOPPED, OutputState.CONNECTING)
                        else OutputState.RECONNECTING)
        try:
            self.connect()
        except (SecretError, ValueError, FileNotFoundError) as exc:  # configuration: retrying will not help
            self._set_state(OutputState.FAILED, str(exc))
            log.error("output %s cannot work: %s", self.name, exc)
            return False
        except Exception as exc:  # noqa: BLE001 - peer down: back off and retry
            self._disconnect()
            self._set_state(OutputState.RECONNECTING, f"connect: {exc}")
            return False
        self._set_state(OutputState.CONNECTED)
        return True

    def _next(self, timeout: float) -> Message | None:
        with self._cond:
            if self._pending is None:
                if not self._queue:
                    self._cond.wait(timeout)
                if not self._queue or self._stop.is_set():
                    return None
                self._pending = self._queue.popleft()
                self._attempts = 0
            self._attempts += 1
            return self._pending

    def _done(self, message: Message | None, sent: bool, error: str = "") -> None:
        with self._cond:
            if message is not None and message is self._pending:
                self._pending = None
                if sent:
                    self.sent += 1
                else:
                    self.dropped += 1
            if error:
                self.last_error = error
            self._cond.notify_all()

    def _failed(self, message: Message | None, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        limit = self.config.max_attempts
        if message is not None and limit is not None and self._attempts >= limit:
            error = f"dropped after {self._attempts} attempts: {error}"
            self._done(message, sent=False, error=error)
        self._disconnect()
        self._set_state(OutputState.RECONNECTING, error)

    def _disconnect(self) -> None:
        try:
            self.disconnect()
        except Exception:  # noqa: BLE001
            log.debug("output %s: disconnect failed", self.name, exc_info=True)

    def _set_state(self, state: OutputState, error: str = "") -> None:
        with self._cond:
            old, self.state = self.state, state
            if error:
                self.last_error = error
            self._cond.notify_all()
        if old is state:
            return
        log.info("output %s: %s%s", self.name, state.value, f" ({error})" if error else "")
        if state is OutputState.CONNECTED or old is OutputState.CONNECTED or state is OutputState.FAILED:
            action = "output_connected" if state is OutputState.CONNECTED else (
                "output_failed" if state is OutputState.FAILED else "output_disconnected")
            try:
                self.context.audit("system", action, {"output": self.name, "kind": self.kind, "state": state.value,
                                                      "reason": error})
            except Exception:  # noqa: BLE001 - the audit log being down must not stop the output
                log.exception("output %s: audit of %s failed", self.name, action)
        self._publish_status()

    def _maybe_publish_status(self) -> None:
        if time.monotonic() - self._status_at >= STATUS_EVERY_S:
            self._publish_status()

    def _publish_status(self) -> None:
        self._status_at = time.monotonic()
        try:
            self.context.publish_status(self.status())
        except Exception:  # noqa: BLE001
            log.exception("output %s: publishing its status failed", self.name)

    # -- reject gate callbacks (gate thread / runtime thread) -------------------------------------

    def _pulse(self, camera: str, high: bool) -> None:
        self.reject_pulse(camera, high)

    def _late(self, frame: Any, late_ms: float) -> None:
        self.context.raise_alarm(frame.camera, f"{LATE_MESSAGE} ({self.name}: frame {frame.frame_index} "
                                               f"was decided {late_ms:.0f} ms after the pulse should have started)")
