"""Result types of the engine API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Stages reported in Prediction.timings (milliseconds), in pipeline order.
STAGES = ("preprocess", "backbone", "checks", "nn_search", "flows", "postprocess")


@dataclass(frozen=True)
class Prediction:
    """One inspected image.

    score: image anomaly score (max of the smoothed anomaly map); higher is more anomalous.
    anomaly_map: float32 array at the ORIGINAL image's height x width.
    timings: milliseconds per stage (see STAGES) plus "total"; batched calls share the
        batch's time evenly between its frames.
    nearest: engine.nearest.NearestShots, where each position matched in the references (the
        "why" view), or None.
    checks: whole-frame checks (engine/coverage.py), each as its value / its limit: >= 1 fails.
    reason: why the checks fail the frame ("part missing", "unlike the references"), or "".
    """

    score: float
    anomaly_map: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    nearest: Any = None
    checks: dict[str, float] = field(default_factory=dict)
    reason: str = ""
