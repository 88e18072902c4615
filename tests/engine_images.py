"""Real images for engine tests: crops of scikit-image's bundled brick texture (no network)."""

from __future__ import annotations

import numpy as np
import skimage.data


def brick_rgb() -> np.ndarray:
    g = skimage.data.brick()
    return np.repeat(g[:, :, None], 3, axis=2)


def brick_crops(n: int, size: int = 192, seed: int = 0) -> list[np.ndarray]:
    tex = brick_rgb()
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y, x = (int(v) for v in rng.integers(0, tex.shape[0] - size, 2))
        out.append(tex[y : y + size, x : x + size].copy())
    return out


def with_defect(image: np.ndarray, box=(70, 90, 36, 30)) -> tuple[np.ndarray, np.ndarray]:
    """A dark oval stain with a bright scratch: a visible foreign defect. Returns (image, mask)."""
    import cv2

    x, y, w, h = box
    out = image.copy()
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(mask, (x + w // 2, y + h // 2), (w // 2, h // 2), 20, 0, 360, 1, -1)
    out[mask.astype(bool)] = (out[mask.astype(bool)] * 0.25).astype(np.uint8)
    cv2.line(out, (x, y + h), (x + w, y), (255, 255, 255), 2)
    cv2.line(mask, (x, y + h), (x + w, y), 1, 2)
    return out, mask.astype(bool)
