"""Heatmap overlay: the anomaly map in a colour map blended on the image.

Colours are pinned to the verdict thresholds, not to each map's own min/max, so that two saved
heatmaps compare at a glance: below half of T1 shows no colour at all, T2 (fail) is near the
top of the colour map. A good frame therefore does not light up just because its map was
normalised to itself.
"""

from __future__ import annotations

import cv2
import numpy as np


def normalise_map(anomaly_map: np.ndarray, t_uncertain: float, t_fail: float) -> np.ndarray:
    """Map scores to 0..1: 0.5*T1 -> 0, T2 -> 0.8, clipped."""
    lo = 0.5 * t_uncertain
    hi_at_fail = t_fail
    span = max((hi_at_fail - lo) / 0.8, 1e-12)
    return np.clip((anomaly_map.astype(np.float32) - lo) / span, 0.0, 1.0)


def heatmap_overlay(
    image: np.ndarray,
    anomaly_map: np.ndarray,
    t_uncertain: float,
    t_fail: float,
    opacity: float = 0.5,
) -> np.ndarray:
    """HxWx3 uint8 RGB: JET colour map of the normalised map blended on the image.

    The blend weight is the opacity times the normalised value, so quiet regions keep the
    original image and only anomalous regions are coloured.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"overlay image must be HxWx3 uint8, got {image.shape} {image.dtype}")
    amap = anomaly_map
    if amap.shape[:2] != image.shape[:2]:
        amap = cv2.resize(amap.astype(np.float32), (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    norm = normalise_map(amap, t_uncertain, t_fail)
    colour_bgr = cv2.applyColorMap((norm * 255).astype(np.uint8), cv2.COLORMAP_JET)
    colour = cv2.cvtColor(colour_bgr, cv2.COLOR_BGR2RGB).astype(np.float32)
    alpha = (opacity * norm)[..., None]
    out = image.astype(np.float32) * (1.0 - alpha) + colour * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
