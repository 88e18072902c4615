"""Events the runtime publishes to its listeners (the Qt bridge, outputs, the headless CLI).

Listeners are called from runtime threads; they must return quickly and never block. Payloads
are plain immutable data so they can cross threads (the ui bridge re-emits them as Qt signals).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

# Camera states come from capture (the layer below); listeners receive them as runtime events.
from resad_station.capture.state import CameraState, CameraStatus

__all__ = ["AlarmEvent", "AlarmStatus", "CameraState", "CameraStatus", "FrameResult", "Metrics", "Notice",
           "PreviewFrame", "RuntimeListener", "Verdict"]


class Verdict(str, enum.Enum):
    PASS = "pass"
    UNCERTAIN = "uncertain"
    FAIL = "fail"


class AlarmStatus(str, enum.Enum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


@dataclass(frozen=True)
class FrameResult:
    """One inspected frame."""

    camera: str
    product: str
    frame_index: int
    captured_at: float  # time.time() when the frame was captured
    decided_at: float  # time.time() when the verdict was made
    score: float
    verdict: Verdict
    t_uncertain: float
    t_fail: float
    image: np.ndarray  # HxWx3 uint8 RGB (the frame as inspected, after ROI crop)
    # float32, covering the whole image at the engine's grid (stride 4 of its input) or at any
    # other size: up-sample it to the picture shown (runtime.overlay.map_at), never on the hot path
    anomaly_map: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    source_name: str = ""  # file name or URI of the frame, when known
    nearest: Any = None  # engine NearestShots: where each part matched in the references (the "why" view)
    reference_version: int | None = None  # the product's reference-set version it was judged against
    reason: str = ""  # why a whole-frame check failed it ("part missing", "unlike the references"), or ""
    checks: dict[str, float] = field(default_factory=dict)  # each whole-frame check's value / its limit (>= 1 fails)
    # the reference of the defect row this frame gets (the recorder sets it, Recorder.record); None: no row
    defect_ref: str | None = None

    @property
    def latency_ms(self) -> float:
        return (self.decided_at - self.captured_at) * 1000.0


@dataclass(frozen=True)
class PreviewFrame:
    """A captured frame for the live picture, before (and whether or not) it is inspected.

    Published at most `preview_fps` times a second from the capture thread; `image` is the
    camera's array (after the ROI crop), shared, never to be written to.
    """

    camera: str
    frame_index: int
    captured_at: float
    image: np.ndarray
    source_name: str = ""


@dataclass(frozen=True)
class AlarmEvent:
    camera: str
    product: str
    status: AlarmStatus
    time: float
    score: float = 0.0
    frame_index: int = -1
    message: str = ""
    actor: str = ""  # who acknowledged (e.g. "operator:rita"); empty for what the station does itself


@dataclass(frozen=True)
class Notice:
    """A word about a camera's set-up for the people at the line: not an alarm, no verdict changes.

    One notice of each kind per camera stands at a time; an empty `message` withdraws it.
    """

    camera: str
    product: str
    kind: str  # what it is about, e.g. "frame_scale" (resad_station.runtime.scale_check)
    time: float
    message: str = ""


@dataclass(frozen=True)
class Metrics:
    """Rolling metrics over the recent window."""

    camera: str
    fps: float
    latency_p50_ms: float
    latency_p95_ms: float
    frames_captured: int
    frames_inspected: int
    frames_dropped: int  # display mode drops (counted, never silent)
    recorder_skipped: int  # records the recorder had to skip because its queue was full
    counts: dict[str, int] = field(default_factory=dict)  # verdict value -> count
    alarm_active: bool = False
    inspection_errors: int = 0  # frames the engine could not score (logged with their names)
    frames_corrupt: int = 0  # items the source could not decode, skipped by capture (logged)
    frames_queued: int = 0  # captured frames waiting for inspection
    verdict_delay_s: float = 0.0  # capture-to-verdict time of the last verdict
    falling_behind: str = ""  # "falling behind: N frames queued, verdicts X s late" while it is so


class RuntimeListener(Protocol):
    """Anything that wants runtime events. Every method is optional in practice: a listener
    implements the ones it wants (ListenerSet checks that it names no other `on_*`), or
    `on_event(name, payload)` to receive every event it has no method for."""

    def on_frame(self, result: FrameResult) -> None: ...

    def on_preview(self, frame: PreviewFrame) -> None: ...

    def on_alarm(self, event: AlarmEvent) -> None: ...

    def on_camera_state(self, state: CameraState) -> None: ...

    def on_metrics(self, metrics: Metrics) -> None: ...

    def on_output_state(self, status: Any) -> None: ...  # resad_station.outputs.OutputStatus

    def on_drift(self, event: Any) -> None: ...  # resad_station.runtime.drift.DriftEvent (raised / cleared)

    def on_notice(self, notice: Notice) -> None: ...


CATCH_ALL = "on_event"
# The events a ListenerSet publishes: the protocol's on_* methods.
EVENT_METHODS = frozenset(name for name in vars(RuntimeListener) if name.startswith("on_"))
