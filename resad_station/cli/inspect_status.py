"""What `resad-station inspect` shows and hears while the line runs headless.

StatusLine: the live one-line status (camera state, rates, counts, alarm), the camera's state
history for --stats, and the progress lines of start-up (engine, first-run enrollment).
AlarmKeys: how an operator acknowledges an alarm without the GUI: `a` + Enter on a terminal,
or SIGUSR1 from anywhere (`kill -USR1 PID`, a service manager, a PLC gateway's script).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from datetime import datetime, timezone

from resad_station.cli.actor import cli_actor
from resad_station.runtime.events import CameraStatus

TTY_WIDTH = 140


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat(timespec="milliseconds")


class StatusLine:
    """The live one-line status; rewritten in place on a terminal, one line every 5 s otherwise."""

    def __init__(self, stream=None, ack_hint: str = "") -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.last_print = 0.0
        self.alarm = "ok"
        self.ack_hint = ack_hint
        self.camera = "camera connecting"
        self.camera_states: list[dict] = []  # every state the camera went through, for --stats
        self.failed: str = ""  # why the camera failed for good ("" while it has not)
        self.last_metrics = None
        self.outputs: dict[str, str] = {}  # output name -> "mqtt connected 120/0" (its state, sent/dropped)
        self._lock = threading.Lock()

    def progress(self, message: str) -> None:
        """A start-up step (engine loading, first-run enrollment): one line of its own."""
        print(f"{message}", file=self.stream, flush=True)

    def on_camera_state(self, state) -> None:
        with self._lock:
            self.camera_states.append({"time": _clock(state.time or time.time()), "status": state.status.value,
                                       "reason": state.reason})
            if state.status is CameraStatus.FAILED:
                self.failed = self.failed or f"camera {state.camera} failed: {state.reason}"
            if not (self.failed and state.status is CameraStatus.STOPPED):  # the last line keeps why
                self.camera = f"camera {state.status.value}" + (f": {state.reason}" if state.reason else "")
        if state.status in (CameraStatus.RECONNECTING, CameraStatus.FAILED):
            self._print_now()

    def on_output_state(self, status) -> None:
        with self._lock:
            old, self.outputs[status.name] = self.outputs.get(status.name, ""), status.short()
        if old.split(" ")[1:2] != status.short().split(" ")[1:2]:  # connected / lost: shown at once
            self._print_now()

    def on_frame(self, result) -> None:
        if getattr(result, "reason", ""):  # a whole-frame check failed it: which frame and why, whatever the score
            if self.tty:
                self.stream.write("\r")
            print(f"frame {result.frame_index} {result.source_name}: {result.verdict.value.upper()} "
                  f"({result.reason}), score {result.score:.4g}", file=self.stream, flush=True)

    def on_alarm(self, event) -> None:
        self.alarm = {"raised": "ALARM", "acknowledged": "acked", "cleared": "ok"}[event.status.value]
        if event.status.value == "raised":
            self.alarm = f"ALARM ({event.message}{'; ' + self.ack_hint if self.ack_hint else ''})"
        self._print_now()  # an alarm is news: shown at once, not at the next 5 s tick

    def line(self, m=None) -> str:
        m = m if m is not None else self.last_metrics
        head = f"{self.camera}  alarm {self.alarm}"
        if m is None:
            return head
        c = m.counts
        text = (f"{m.fps:5.1f} fps  p95 {m.latency_p95_ms:6.0f} ms  dropped {m.frames_dropped}  "
                f"pass {c.get('pass', 0)}  uncertain {c.get('uncertain', 0)}  fail {c.get('fail', 0)}  "
                f"rec-skip {m.recorder_skipped}  {head}")
        behind = getattr(m, "falling_behind", "")
        text = f"{text}  {behind}" if behind else text
        with self._lock:
            outputs = ", ".join(self.outputs.values())
        return f"{text}  out {outputs}" if outputs else text

    def on_metrics(self, m) -> None:
        self.last_metrics = m
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line(m)[:TTY_WIDTH].ljust(TTY_WIDTH))
            self.stream.flush()
        elif now - self.last_print >= 5.0:
            self.last_print = now
            print(self.line(m), file=self.stream, flush=True)

    def _print_now(self) -> None:
        if self.tty:
            self.stream.write("\r" + self.line()[:TTY_WIDTH].ljust(TTY_WIDTH))
            self.stream.flush()
        else:
            print(self.line(), file=self.stream, flush=True)

    def close(self, final_metrics=None) -> None:
        """The last status line, as the run ended (printed whatever the 5 s rhythm)."""
        if final_metrics is not None:
            self.last_metrics = final_metrics
        if self.tty:
            self.stream.write("\r" + " " * TTY_WIDTH + "\r")
        print("stopped: " + self.line(), file=self.stream, flush=True)


class AlarmKeys:
    """Acknowledges the station's alarm on `a` + Enter (stdin a terminal) and on SIGUSR1."""

    def __init__(self, station, stdin=None) -> None:
        self.station = station
        self.stdin = stdin if stdin is not None else sys.stdin
        self.acks = 0

    @property
    def hint(self) -> str:
        keys = "a+Enter or " if self._stdin_is_tty() else ""
        return f"{keys}kill -USR1 {os.getpid()} acknowledges"

    def _stdin_is_tty(self) -> bool:
        try:
            return self.stdin is not None and self.stdin.isatty()
        except (ValueError, OSError):  # closed stdin
            return False

    def acknowledge(self, *_: object) -> None:
        if self.station.acknowledge_alarm(cli_actor("operator")):
            self.acks += 1

    def start(self, read_keys: bool | None = None) -> None:
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGUSR1"):
            signal.signal(signal.SIGUSR1, self.acknowledge)
        if read_keys if read_keys is not None else self._stdin_is_tty():
            threading.Thread(target=self._read, name="inspect-keys", daemon=True).start()

    def _read(self) -> None:
        for text in iter(self.stdin.readline, ""):  # a daemon: a pending read never holds up exit
            if text.strip().lower() in ("a", "ack"):
                self.acknowledge()
