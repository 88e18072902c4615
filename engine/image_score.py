"""The image score: one number from a smoothed anomaly map.

"max" is the paper's (the map's maximum). "topP" (P in percent, e.g. "top1") is the mean of the
map's highest P % of cells: a single normal hot spot then weighs less than a defect that covers
several cells. The rule is part of a detector's score id, since the two live on other scales.
"""

from __future__ import annotations

import re

import numpy as np

from engine.errors import EngineError

DEFAULT_RULE = "max"
_TOP = re.compile(r"^top(\d+(?:\.\d+)?)$")


def check_rule(rule: str) -> str:
    if rule == "max":
        return rule
    m = _TOP.match(str(rule))
    if not m or not 0 < float(m.group(1)) <= 100:
        raise EngineError(f"image score: expected 'max' or 'topP' with P a percentage in (0, 100] (e.g. 'top1'), got {rule!r}")
    return rule


def image_score(map_2d: np.ndarray, rule: str = DEFAULT_RULE) -> float:
    if rule == "max":
        return float(map_2d.max())
    flat = map_2d.reshape(-1)
    n = max(1, int(round(flat.size * float(rule[3:]) / 100.0)))
    return float(np.partition(flat, flat.size - n)[flat.size - n :].mean())
