"""Drift warning: good parts' scores creeping up (ageing light, dirty lens, knocked camera).

A DriftMonitor watches the scores of the frames that did not fail (PASS and UNCERTAIN: a FAIL is
a defect, not evidence about the good parts) and raises a warning, not an alarm, when they have
moved up from where good parts scored at enrollment, before false FAILs start.

    baseline  the first `baseline_frames` non-failing frames after start or after a new reference
              set: their median m and their spread (the larger of the standard deviation and
              1.4826 * MAD, so a short baseline does not underestimate it). The anchor is min(m, calibration
              mean): live frames are scored against all K shots and usually sit below the
              leave-one-out calibration, and a line that starts already drifted is still measured
              against its enrollment. sigma = max(that spread, calibration spread), so a line whose
              frames vary more than the few enrollment shots did (pose, part-to-part) does not warn
              on that variation.
    z         (score - anchor) / sigma, clipped to +-clip so one odd frame moves nothing far.
    CUSUM     S = max(0, S + z - slack): sums evidence of a sustained upward shift.
    EWMA      e = lam * z + (1 - lam) * e: the smoothed level (shown on the trend plot).
    warning   raised when S > limit and e > slack (sustained AND the recent level is up: a short
              burst of high frames lifts S, not e); cleared by itself (non-latched) when e is back
              within slack / 2 of the baseline, and S starts again from 0.

The whole-frame checks (engine/coverage.py: "part missing", "unlike the references") fail a frame
on their own, and a global lighting change moves the "unlike the references" ratio before it
moves the patch score. So each check's ratio (value / limit) of the non-failing frames gets the
same baseline and z, and the CUSUM and EWMA run on the largest z of the frame: the warning comes
before either the score or a check starts failing good parts.

The shift it reports is the CUSUM's own estimate, slack + S / n over the n frames since S last
left 0, and the time since then: "x sigma over the last N minutes".
"""

from __future__ import annotations

import enum
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from engine.coverage import CHECK_NAMES as DRIFT_CHECKS
from engine.thresholds import RELATIVE_SPREAD_FLOOR
from resad_station.runtime.events import FrameResult, Verdict

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation
CHECK_SIGMA_FLOOR = 0.02  # of a check's limit: a check that barely varies over the baseline warns on noise


class DriftStatus(str, enum.Enum):
    RAISED = "raised"
    CLEARED = "cleared"


@dataclass(frozen=True)
class DriftSettings:
    """The profile's `drift:` section (defaults there); validated by the profile model."""

    enabled: bool = True
    baseline_frames: int = 50
    slack: float = 0.75
    limit: float = 10.0
    ewma_lambda: float = 0.1
    clip: float = 4.0

    @classmethod
    def of(cls, config: Any) -> "DriftSettings":
        """From a profile's DriftConfig (or anything with the same attributes)."""
        return cls(**{name: getattr(config, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class DriftEvent:
    """A drift warning raised or cleared; published to listeners as `on_drift`, stored as an audit event."""

    camera: str
    product: str
    status: DriftStatus
    time: float
    shift_sigma: float  # estimated upward shift of the good scores, in sigma
    since: float  # time.time() when the evidence started to accumulate
    frames: int  # frames that accumulated it
    anchor: float  # the baseline score the shift is measured from
    sigma: float  # score units of one sigma
    message: str = ""

    @property
    def minutes(self) -> float:
        return max(0.0, self.time - self.since) / 60.0

    def to_dict(self) -> dict[str, Any]:
        return {"camera": self.camera, "product": self.product, "status": self.status.value, "time": self.time,
                "shift_sigma": round(self.shift_sigma, 3), "minutes": round(self.minutes, 2), "frames": self.frames,
                "anchor": self.anchor, "sigma": self.sigma, "message": self.message}


def calibration_spread(calibration: dict[str, Any]) -> float:
    """The calibration's spread, as its thresholds use it (see enrollment/calibration.py)."""
    std = float(calibration.get("std", 0.0))
    top = float(calibration.get("max", 0.0))
    return max(std, RELATIVE_SPREAD_FLOOR * abs(top), 1e-6)


def drift_message(shift_sigma: float, seconds: float) -> str:
    span = f"{seconds / 60:.0f} minutes" if seconds >= 90 else f"{seconds:.0f} s"
    return (f"good parts scoring higher than at enrollment ({shift_sigma:.1f} sigma over the last {span}): "
            "check lighting and camera")


class DriftMonitor:
    """One camera's drift statistics. Not thread-safe by itself: fed from the inspection thread."""

    def __init__(self, settings: DriftSettings, camera: str, product: str, calibration: dict[str, Any],
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.camera = camera
        self._clock = clock
        self.reset(product, calibration)

    def reset(self, product: str, calibration: dict[str, Any]) -> list[DriftEvent]:
        """A new product or reference set: learn the baseline again; an open warning is cleared."""
        events = [self._event(DriftStatus.CLEARED, "new reference set")] if getattr(self, "warning", False) else []
        self.product = product
        self.calibration_mean = float(calibration.get("mean", math.inf))
        self.calibration_sigma = calibration_spread(calibration)
        self._baseline: list[float] = []
        self._check_baseline: dict[str, list[float]] = {}
        self.check_anchor: dict[str, tuple[float, float]] = {}  # check name -> (median ratio, sigma)
        self.anchor: float | None = None
        self.sigma: float | None = None
        self.cusum = 0.0
        self.ewma = 0.0
        self.warning = False
        self._run_frames = 0  # frames since the CUSUM last left 0
        self._run_since = 0.0
        self._last_at: float | None = None  # time of the last frame observed
        self.trace: deque[tuple[float, float]] = deque(maxlen=2000)  # (time, EWMA in score units)
        return events

    @property
    def learning(self) -> bool:
        return self.anchor is None

    def level(self) -> float | None:
        """The EWMA of the good scores in score units (None while learning the baseline)."""
        return None if self.anchor is None else self.anchor + self.ewma * self.sigma

    def observe(self, score: float, verdict: Verdict, at: float | None = None,
                checks: dict[str, float] | None = None) -> list[DriftEvent]:
        if verdict is Verdict.FAIL or not math.isfinite(score):
            return []
        at = self._clock() if at is None else at
        self._last_at = at
        s = self.settings
        # the feature checks only: a blank frame fails on its own, and its ratio can be infinite
        checks = {k: float(v) for k, v in (checks or {}).items() if k in DRIFT_CHECKS and math.isfinite(v)}
        if self.anchor is None:
            self._baseline.append(float(score))
            for name, ratio in checks.items():
                self._check_baseline.setdefault(name, []).append(ratio)
            if len(self._baseline) >= s.baseline_frames:
                self._learn_baseline()
            return []
        z = (score - self.anchor) / self.sigma
        for name, (anchor, sigma) in self.check_anchor.items():
            if name in checks:
                z = max(z, (checks[name] - anchor) / sigma)
        z = float(np.clip(z, -s.clip, s.clip))
        self.ewma = s.ewma_lambda * z + (1.0 - s.ewma_lambda) * self.ewma
        if self.cusum == 0.0:
            self._run_frames, self._run_since = 0, at
        self.cusum = max(0.0, self.cusum + z - s.slack)
        self._run_frames = self._run_frames + 1 if self.cusum > 0 else 0
        self.trace.append((at, self.level()))
        if not self.warning and self.cusum > s.limit and self.ewma > s.slack:
            self.warning = True
            return [self._event(DriftStatus.RAISED)]
        if self.warning and self.ewma <= s.slack / 2:
            self.warning = False
            self.cusum = 0.0  # the evidence is spent: a new warning needs new evidence
            return [self._event(DriftStatus.CLEARED, "good scores back at their baseline")]
        return []

    def shift_sigma(self) -> float:
        return self.settings.slack + self.cusum / max(self._run_frames, 1)

    def _learn_baseline(self) -> None:
        values = np.asarray(self._baseline, dtype=np.float64)
        median = float(np.median(values))
        robust = MAD_TO_SIGMA * float(np.median(np.abs(values - median)))
        # the larger of the robust and the plain spread: a baseline of a few dozen frames
        # underestimates either now and then, and an underestimate would warn on plain noise
        spread = float(values.std(ddof=1)) if values.size > 1 else 0.0
        self.anchor = min(median, self.calibration_mean)
        self.sigma = max(robust, spread, self.calibration_sigma)
        for name, ratios in self._check_baseline.items():
            if len(ratios) >= max(2, len(values) // 2):  # a check that ran on most baseline frames
                r = np.asarray(ratios, dtype=np.float64)
                m = float(np.median(r))
                self.check_anchor[name] = (m, max(MAD_TO_SIGMA * float(np.median(np.abs(r - m))),
                                                  float(r.std(ddof=1)), CHECK_SIGMA_FLOOR))

    def _event(self, status: DriftStatus, why: str = "") -> DriftEvent:
        now = self._last_at if self._last_at is not None else self._clock()
        shift = self.shift_sigma() if status is DriftStatus.RAISED else 0.0
        since = self._run_since if status is DriftStatus.RAISED else now
        message = drift_message(shift, now - since) if status is DriftStatus.RAISED else f"drift warning cleared: {why}"
        return DriftEvent(self.camera, self.product, status, now, shift, since, self._run_frames,
                          float(self.anchor if self.anchor is not None else math.nan),
                          float(self.sigma if self.sigma is not None else math.nan), message)


class DriftWatch:
    """The runtime listener that feeds a DriftMonitor and publishes its events.

    Added to the station's listeners like the UI bridge: on_frame runs on the inspection thread
    (a few arithmetic operations); events go out as `on_drift` through the same ListenerSet the
    alarms use (so outputs forward them), and to `store` (an audit row, on the recorder thread).
    """

    def __init__(self, monitor: DriftMonitor, listeners: Any, store: Callable[[DriftEvent], None] | None = None) -> None:
        self.monitor = monitor
        self.listeners = listeners
        self.store = store

    def on_frame(self, result: FrameResult) -> None:
        if result.product != self.monitor.product:  # frames of a product switched away from
            return
        self._emit(self.monitor.observe(result.score, result.verdict, result.decided_at, result.checks))

    def reset(self, product: str, calibration: dict[str, Any]) -> None:
        self._emit(self.monitor.reset(product, calibration))

    @property
    def warning(self) -> bool:
        return self.monitor.warning

    def _emit(self, events: Sequence[DriftEvent]) -> None:
        for event in events:
            self.listeners.publish("on_drift", event)
            if self.store is not None:
                self.store(event)


def write_drift_event(db: Any, event: DriftEvent, actor: str = "system") -> None:
    """The audit row of a drift event (action drift_raised / drift_cleared)."""
    from resad_station.storage import repository as repo

    with db.session() as s:
        repo.add_audit_event(s, actor, f"drift_{event.status.value}", event.to_dict(), time=event.time)
