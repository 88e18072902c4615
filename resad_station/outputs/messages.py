"""What outputs send: one JSON document per verdict or runtime event (the schema is in docs/outputs.md).

Built once per event in the runtime thread (a few tens of microseconds) and shared by every
output. Events are turned into JSON generically from their dataclass fields, so a new runtime
event (a drift warning, say) goes out without a change here.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

SCHEMA = 1


@dataclass(frozen=True)
class Message:
    kind: str  # "verdict", "test", or the event's name: "alarm", "camera_state", ...
    camera: str
    payload: dict[str, Any]
    body: bytes  # payload as UTF-8 JSON
    frame: Any = None  # the FrameResult of a verdict (image, capture time) for kinds that need more
    offered_at: float = dataclasses.field(default_factory=time.time)


def iso_time(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _number(x: float) -> float | None:
    return round(float(x), 6) if math.isfinite(x) else None  # JSON has no NaN


def _make(kind: str, camera: str, payload: dict[str, Any], frame: Any = None) -> Message:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Message(kind, camera, payload, body, frame)


def verdict_message(result: Any, line: str = "") -> Message:
    """The verdict of one inspected frame (a runtime FrameResult)."""
    payload = {
        "schema": SCHEMA, "type": "verdict", "line": line, "time": iso_time(result.decided_at),
        "camera": result.camera, "product": result.product, "frame_id": int(result.frame_index),
        "source": result.source_name, "verdict": result.verdict.value, "score": _number(result.score),
        "t_uncertain": _number(result.t_uncertain), "t_fail": _number(result.t_fail),
        "latency_ms": round(result.latency_ms, 3), "captured_at": result.captured_at, "decided_at": result.decided_at,
        # the reference of the defect row the recorder writes for this frame (after the message): null for
        # a PASS or a frame that gets no row; `defects list --ref` finds the row
        "defect_id": getattr(result, "defect_ref", None),
    }
    return _make("verdict", result.camera, payload, result)


def jsonable(value: Any) -> Any:
    """Plain JSON values from an event's fields; arrays and other heavy objects are left out (None)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return _number(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return None


def event_name(method: str) -> str:
    return method.removeprefix("on_")


def event_message(method: str, event: Any, line: str = "") -> Message:
    """Any other runtime event (alarm raised / acknowledged / cleared, camera state, warnings...)."""
    fields = jsonable(event)
    fields = fields if isinstance(fields, dict) else {"value": fields}
    when = fields.get("time") if isinstance(fields.get("time"), (int, float)) and fields.get("time") else time.time()
    name = event_name(method)
    payload = {"schema": SCHEMA, "type": "event", "event": name, "line": line, **fields}
    # an event's own fields never hide what it is; its time is given as text and as epoch seconds
    payload.update(type="event", event=name, time=iso_time(when), timestamp=when)
    return _make(name, str(fields.get("camera", "")), payload)


def test_message(line: str = "", camera: str = "test") -> Message:
    """`resad-station outputs test`: a verdict-shaped message that says it is a test."""
    now = time.time()
    payload = {"schema": SCHEMA, "type": "test", "line": line, "time": iso_time(now), "camera": camera,
               "message": "resad-station outputs test"}
    return _make("test", camera, payload)
