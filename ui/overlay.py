"""Pure numpy/OpenCV image work for the live view: downscale, heatmap blending, contours.

No Qt here, so it runs in any thread (the bridge calls it in the runtime's thread) and is
easy to test on plain arrays.
"""

from __future__ import annotations

import cv2
import numpy as np

from resad_station.runtime.overlay import blend_levels, unit_opacity
from resad_station.runtime.overlay import fit_longest_side  # noqa: F401 (the live view's downscale, shared)

# Live heat scale (see normalise_map): T1 -> 0, T2 -> HEAT_AT_FAIL, clipped at 1 (a quarter of
# the T1..T2 span above T2), so there is still colour headroom for the worst regions.
HEAT_AT_FAIL = 0.8
# Blend weight (times the opacity slider) as a function of t = position in the T1..T2 span:
# 0 at T1, a soft edge up to ALPHA_FLOOR over the first EDGE of the span, then rising linearly
# to 1 at T2. The floor is what makes a region that only just made the frame UNCERTAIN visible
# (weight proportional to t alone would leave it almost clear).
ALPHA_FLOOR = 0.6
EDGE = 0.05

# Inferno sampled over [0.45, 0.85], RGB rows: perceptual (lightness rises monotonically with
# the anomaly) and with both ends cut off: full inferno starts near black (lost on dark copper)
# and ends in pale yellow (lost on white boards). Measured at opacity 0.6 (CIE76 dE of the
# blend against the board): just above T1 31 on white / 29 on black, at T2 56 / 70; the JET
# blend it replaces gave 21 / 35 and 48 / 60. The saved heatmaps (resad_station) keep JET.
_HEAT_LUT = cv2.applyColorMap(np.arange(256, dtype=np.uint8).reshape(256, 1), cv2.COLORMAP_INFERNO)[:, 0, ::-1]
_HEAT_LUT = _HEAT_LUT[np.round(np.linspace(0.45, 0.85, 256) * 255).astype(np.intp)].copy()
CONTOUR_RGB = (255, 0, 255)  # magenta: visible on white boards, dark metal and the orange of the heat


def normalise_map(anomaly_map: np.ndarray, t_uncertain: float, t_fail: float) -> np.ndarray:
    """Live-view heat 0..1: 0 at and below T1 (uncertain), HEAT_AT_FAIL at T2 (fail), clipped.

    Unlike the saved heatmaps' scale (resad_station.runtime.overlay.normalise_map: 0.5*T1 -> 0),
    nothing below T1 is tinted: a good board stays uncoloured and whatever colour there is
    means "at least uncertain".
    """
    span = max(float(t_fail) - float(t_uncertain), 1e-12)
    heat = (anomaly_map.astype(np.float32) - np.float32(t_uncertain)) * np.float32(HEAT_AT_FAIL / span)
    return np.clip(heat, 0.0, 1.0, out=heat)


def hot_contours(anomaly_map: np.ndarray, t_fail: float) -> list[np.ndarray]:
    """Outlines (Nx2 int x,y points) of the regions whose map value is above the fail threshold."""
    mask = (anomaly_map > t_fail).astype(np.uint8)
    if not mask.any():
        return []
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1, 2) for c in contours]


def blend_weight(heat: np.ndarray) -> np.ndarray:
    """0..1 blend weight for normalise_map's heat (see ALPHA_FLOOR)."""
    t = heat * np.float32(1.0 / HEAT_AT_FAIL)
    weight = np.minimum(np.float32(ALPHA_FLOOR) + np.float32(1.0 - ALPHA_FLOOR) * t, np.float32(1.0))
    return weight * np.minimum(t * np.float32(1.0 / EDGE), np.float32(1.0))


def compose_overlay(
    image: np.ndarray,
    heat: np.ndarray,
    opacity: float,
    contours: list[np.ndarray] | tuple = (),
) -> np.ndarray:
    """RGB frame with the coloured heat (normalise_map's scale) blended in.

    Per-pixel alpha = opacity * weight(t), t = heat / HEAT_AT_FAIL (0 at T1, 1 at T2): zero at
    and below T1, so the operator still sees the part and only anomalous areas are tinted;
    then ALPHA_FLOOR after a short soft edge, rising to the full opacity at T2. Contours are
    drawn on top, opaque, so they stay visible at opacity 0. The heat is taken in 256 levels:
    colour and weight are table look-ups and the blend one OpenCV call over the box of heat
    above T1 (resad_station.runtime.overlay.blend_levels).
    """
    rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    level = (heat * 255).astype(np.uint8)
    out = blend_levels(rgb, level, _HEAT_LUT_CV, _WEIGHT_LUT * np.float32(unit_opacity(opacity)))
    if len(contours):
        thickness = max(1, round(max(out.shape[:2]) / 400))
        cv2.polylines(out, [c.reshape(-1, 1, 2).astype(np.int32) for c in contours], True, CONTOUR_RGB, thickness)
    return out


_HEAT_LUT_CV = _HEAT_LUT.reshape(256, 1, 3).copy()  # applyColorMap's table shape
_WEIGHT_LUT = blend_weight(np.arange(256, dtype=np.float32) / np.float32(255.0)).astype(np.float32)
