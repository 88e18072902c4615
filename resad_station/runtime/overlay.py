"""Heatmap overlay: the anomaly map in a colour map blended on the image.

Colours are pinned to the verdict thresholds, not to each map's own min/max, so that two saved
heatmaps compare at a glance: below half of T1 shows no colour at all, T2 (fail) is near the
top of the colour map. A good frame therefore does not light up just because its map was
normalised to itself.

The map comes at the engine's grid resolution (a 1080p frame's map is 270x480 or smaller) and is
up-sampled once, to the picture's size, in float32; the colouring and the blend are 8-bit OpenCV
table look-ups and one weighted blend: about 11 ms on a 1920x1080 frame against 64 ms for the
same picture in float32 numpy (docs/benchmarks.md, "Camera resolution").
"""

from __future__ import annotations

import cv2
import numpy as np

LOW_AT = 0.5  # x T1: no colour below
FAIL_LEVEL = 0.8  # T2 sits here on the 0..1 colour scale
_JET_RGB = cv2.applyColorMap(np.arange(256, dtype=np.uint8).reshape(256, 1), cv2.COLORMAP_JET)[:, :, ::-1].copy()


def normalise_map(anomaly_map: np.ndarray, t_uncertain: float, t_fail: float) -> np.ndarray:
    """Map scores to 0..1: 0.5*T1 -> 0, T2 -> 0.8, clipped."""
    lo, span = _scale(t_uncertain, t_fail)
    return np.clip((anomaly_map.astype(np.float32) - lo) / span, 0.0, 1.0)


def _scale(t_uncertain: float, t_fail: float) -> tuple[np.float32, np.float32]:
    lo = LOW_AT * float(t_uncertain)
    return np.float32(lo), np.float32(max((float(t_fail) - lo) / FAIL_LEVEL, 1e-12))


def fit_longest_side(image: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink so the longest side is at most max_side; never enlarge.

    INTER_AREA (no aliasing) where the picture shrinks to less than half; above that bilinear
    samples every source pixel anyway and costs a sixth (1 against 7 ms, 1080 -> 960 px).
    """
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 0.5 else cv2.INTER_LINEAR)


def map_at(anomaly_map: np.ndarray, height: int, width: int) -> np.ndarray:
    """The map (any resolution, covering the whole picture) as float32 at height x width."""
    amap = np.asarray(anomaly_map, dtype=np.float32)
    if amap.shape[:2] == (height, width):
        return amap
    return cv2.resize(amap, (width, height), interpolation=cv2.INTER_LINEAR)


def heatmap_overlay(
    image: np.ndarray,
    anomaly_map: np.ndarray,
    t_uncertain: float,
    t_fail: float,
    opacity: float = 0.5,
) -> np.ndarray:
    """HxWx3 uint8 RGB: JET colour map of the normalised map blended on the image.

    The blend weight is the opacity times the normalised value, so quiet regions keep the
    original image and only anomalous regions are coloured. `anomaly_map` covers the image at
    any resolution (the engine's grid, or the image's own size).
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"overlay image must be HxWx3 uint8, got {image.shape} {image.dtype}")
    height, width = image.shape[:2]
    lo, span = _scale(t_uncertain, t_fail)
    levels = (np.asarray(anomaly_map, dtype=np.float32) - lo) * (np.float32(255.0) / span)  # at the map's grid
    levels = map_at(levels, height, width)
    level8 = np.clip(levels, 0.0, 255.0, out=levels).astype(np.uint8)
    weights = np.arange(256, dtype=np.float32) * np.float32(unit_opacity(opacity) / 255.0)
    return blend_levels(image, level8, _JET_RGB, weights)


def unit_opacity(opacity: float) -> float:
    """An opacity a person set, as a blend weight: clipped to 0..1, and 0 for NaN."""
    return float(np.clip(np.nan_to_num(opacity), 0.0, 1.0))


def blend_levels(image: np.ndarray, level8: np.ndarray, colour_lut: np.ndarray, weight_lut: np.ndarray) -> np.ndarray:
    """A copy of the RGB image with colour_lut[level] blended in at weight_lut[level] per pixel.

    Level 0 must weigh 0 (no colour), so only the bounding box of the non-zero levels is
    blended: a good frame's live overlay (nothing above T1) costs a copy, a defect's its box."""
    if weight_lut[0] != 0.0:
        raise ValueError(f"blend_levels: level 0 must have weight 0 (no colour), got {weight_lut[0]!r}")
    out = np.array(image, copy=True, order="C")
    x, y, w, h = cv2.boundingRect(level8)
    if w == 0 or h == 0:
        return out
    box = level8[y:y + h, x:x + w]
    alpha = cv2.LUT(box, weight_lut)
    region = np.ascontiguousarray(out[y:y + h, x:x + w])
    out[y:y + h, x:x + w] = cv2.blendLinear(region, cv2.applyColorMap(box, colour_lut), np.float32(1.0) - alpha, alpha)
    return out
