"""The runtime listener that feeds every configured output (one per profile `outputs:` entry).

Runs in the runtime's threads and only formats (once, shared) and enqueues: each output's own
thread does the talking. Previews, metrics and the outputs' own states stay local; every other
event (alarms, camera states, whatever the runtime adds later) is forwarded as it comes.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Sequence

from resad_station.outputs.base import Output, OutputContext, OutputStatus
from resad_station.outputs.config import OutputConfig
from resad_station.outputs.messages import event_message, verdict_message
from resad_station.outputs.registry import output_class

log = logging.getLogger(__name__)

STARTUP_WAIT_S = 5.0  # the longest a line's start waits for its outputs' first connect
NOT_FORWARDED = frozenset({"on_preview", "on_metrics", "on_output_state"})  # per-frame noise, or our own


class OutputSet:
    def __init__(self, outputs: Sequence[Output], line: str = "") -> None:
        self.outputs = list(outputs)
        self.line = line

    @classmethod
    def from_configs(cls, configs: Sequence[OutputConfig], context: OutputContext | None = None) -> "OutputSet":
        context = context or OutputContext()
        return cls([output_class(c.kind)(c, context) for c in configs], context.line)

    def __len__(self) -> int:
        return len(self.outputs)

    def start(self, wait_s: float = STARTUP_WAIT_S) -> None:
        """Start every output and wait (at most `wait_s` in all) until each has tried to connect once.

        Setting up a peer is heavy Python (the OPC UA server builds its whole address space, about
        a second here): done while the first frames are inspected, it held the interpreter lock
        the engine needs, and the line's first two seconds came out as one 1.2-2.1 s stall in
        `bench_outputs`. A peer that is down fails its first try quickly and is retried in the
        background as before."""
        for output in self.outputs:
            output.start()
        deadline = time.monotonic() + wait_s
        for output in self.outputs:
            if not output.first_attempt.wait(max(0.0, deadline - time.monotonic())):
                log.info("output %s: still connecting after %.0f s; the line starts anyway", output.name, wait_s)

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop every output side by side: N dead peers cost one `timeout`, not N."""
        deadline = time.monotonic() + timeout
        for output in self.outputs:
            output.drain(deadline - timeout / 2)
        for output in self.outputs:
            output.halt()
        return all([output.join(deadline) for output in self.outputs])

    def statuses(self) -> list[OutputStatus]:
        return [o.status() for o in self.outputs]

    # -- runtime listener ------------------------------------------------------------------------

    def on_frame(self, result: Any) -> None:
        message = verdict_message(result, self.line)
        for output in self.outputs:
            if output.gate is not None:
                output.gate.schedule(result)
            output.offer(message)

    def on_event(self, method: str, event: Any) -> None:
        if method in NOT_FORWARDED or not self.outputs:
            return
        message = event_message(method, event, self.line)
        for output in self.outputs:
            output.offer(message)
