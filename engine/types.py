"""Result types of the engine API."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

# Stages reported in Prediction.timings (milliseconds), in pipeline order.
STAGES = ("preprocess", "backbone", "checks", "nn_search", "flows", "postprocess")


@dataclass(frozen=True)
class Prediction:
    """One inspected image.

    score: image anomaly score (max of the smoothed anomaly map); higher is more anomalous.
    grid_map: float32 map on the engine's grid (stride 4 of the input), covering the ROI (or the
        whole image without one): what the score is the maximum of. A live station up-samples it
        only where a picture is shown or stored, at that picture's size.
    anomaly_map: the same map up-sampled to the ORIGINAL image's height x width (ROI placed),
        float32; computed on first use (evaluation, the API), never on the station's hot path.
    timings: milliseconds per stage (see STAGES) plus "total"; batched calls share the
        batch's time evenly between its frames.
    nearest: engine.nearest.NearestShots, where each position matched in the references (the
        "why" view), or None.
    checks: whole-frame checks (engine/coverage.py), each as its value / its limit: >= 1 fails.
    reason: why the checks fail the frame ("part missing", "unlike the references"), or "".
    """

    score: float
    grid_map: np.ndarray
    image_shape: tuple[int, int]  # (H, W) of the image given to the engine
    roi: tuple[int, int, int, int] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    nearest: Any = None
    checks: dict[str, float] = field(default_factory=dict)
    reason: str = ""

    @cached_property
    def anomaly_map(self) -> np.ndarray:
        from engine.scoring import to_original  # scoring needs torch; this module stays light

        return to_original(self.grid_map, self.image_shape, self.roi)
