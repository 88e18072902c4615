"""Pure numpy/OpenCV image work for the live view: downscale, heatmap blending, contours.

No Qt here, so it runs in any thread (the bridge calls it in the runtime's thread) and is
easy to test on plain arrays.
"""

from __future__ import annotations

import cv2
import numpy as np

from resad_station.runtime.overlay import normalise_map  # noqa: F401 (re-exported: same colours as saved heatmaps)

# JET, like the heatmaps the recorder saves, so live and review colours mean the same. RGB rows.
_JET_LUT = cv2.applyColorMap(np.arange(256, dtype=np.uint8).reshape(256, 1), cv2.COLORMAP_JET)[:, 0, ::-1].copy()
CONTOUR_RGB = (255, 0, 255)  # magenta: visible on white boards, dark metal and the red of the heat


def fit_longest_side(image: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink so the longest side is at most max_side (INTER_AREA: no aliasing); never enlarge."""
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def resize_to(array: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    if array.shape[:2] == shape_hw:
        return array
    return cv2.resize(array, (shape_hw[1], shape_hw[0]), interpolation=cv2.INTER_AREA)


def hot_contours(anomaly_map: np.ndarray, t_fail: float) -> list[np.ndarray]:
    """Outlines (Nx2 int x,y points) of the regions whose map value is above the fail threshold."""
    mask = (anomaly_map > t_fail).astype(np.uint8)
    if not mask.any():
        return []
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1, 2) for c in contours]


def compose_overlay(
    image: np.ndarray,
    heat: np.ndarray,
    opacity: float,
    contours: list[np.ndarray] | tuple = (),
) -> np.ndarray:
    """RGB frame with the coloured heat blended in, per-pixel alpha = opacity * heat.

    Cold pixels keep the raw frame, so the operator still sees the part; only anomalous areas
    are tinted. Contours are drawn on top, opaque, so they stay visible at opacity 0.
    """
    rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    alpha = (np.clip(opacity, 0.0, 1.0) * heat)[..., None]
    colour = _JET_LUT[(heat * 255).astype(np.uint8)]
    out = (rgb.astype(np.float32) * (1.0 - alpha) + colour.astype(np.float32) * alpha).astype(np.uint8)
    if len(contours):
        out = np.ascontiguousarray(out)
        thickness = max(1, round(max(out.shape[:2]) / 400))
        cv2.polylines(out, [c.reshape(-1, 1, 2).astype(np.int32) for c in contours], True, CONTOUR_RGB, thickness)
    return out
