"""Content checks for enrollment shots: blank, flat-filled (a garbled file), far from the others.

A good shot shows the part. Three ways it may not, each judged on pixels alone:

- blank or near-uniform: the grey levels' standard deviation is below `min_contrast` (of 255):
  a black, white or grey frame, a lens cap, an empty screen.
- flat-filled: more than `max_flat_share` of the image lies in 16x16 blocks of one single grey
  level other than pure black or white. A truncated or garbled JPEG decodes to such a fill (libjpeg
  pads what it could not read with mid grey); real camera pixels carry noise, and the pure
  black/white of a binarised scan (the demo boards) is content, not fill.
- far from the other shots (3 shots or more): its 32x32 thumbnail's distance to the NEAREST other
  shot is more than `outlier_ratio` x the median of those nearest distances over the set: another
  product, a wrong camera, a shot of the empty fixture among shots of the part.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

FLAT_BLOCK = 16


def grey_of(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def blank_problem(image: np.ndarray, min_contrast: float) -> str | None:
    std = float(grey_of(image).std())
    if std < min_contrast:
        return f"blank or near-uniform: grey-level std {std:.2f} of 255 (at least {min_contrast:g} expected)"
    return None


def flat_fill_share(image: np.ndarray) -> tuple[float, int]:
    """(share of the image in flat 16x16 blocks of the commonest flat level other than 0/255, that level)."""
    g = grey_of(image)
    h, w = (g.shape[0] // FLAT_BLOCK) * FLAT_BLOCK, (g.shape[1] // FLAT_BLOCK) * FLAT_BLOCK
    if h == 0 or w == 0:
        return 0.0, -1
    blocks = g[:h, :w].reshape(h // FLAT_BLOCK, FLAT_BLOCK, w // FLAT_BLOCK, FLAT_BLOCK).swapaxes(1, 2)
    blocks = blocks.reshape(-1, FLAT_BLOCK * FLAT_BLOCK)
    flat = blocks.min(axis=1) == blocks.max(axis=1)
    levels = blocks[flat, 0]
    levels = levels[(levels != 0) & (levels != 255)]
    if levels.size == 0:
        return 0.0, -1
    counts = np.bincount(levels, minlength=256)
    level = int(counts.argmax())
    return float(counts[level]) / blocks.shape[0], level


def flat_fill_problem(image: np.ndarray, max_share: float) -> str | None:
    share, level = flat_fill_share(image)
    if share > max_share:
        return (f"mostly one flat grey: {share:.0%} of the image is level {level} without any noise "
                f"(at most {max_share:.0%} allowed): a truncated or garbled file?")
    return None


def outliers(names: Sequence[str], thumbs: Sequence[np.ndarray], ratio: float) -> dict[str, str]:
    """name -> reason, for shots far from all the others (needs 3 shots or more)."""
    if len(thumbs) < 3:
        return {}
    t = np.stack([np.asarray(x, np.float32).reshape(-1) for x in thumbs])
    dist = np.abs(t[:, None, :] - t[None, :, :]).mean(axis=2)
    np.fill_diagonal(dist, np.inf)
    nearest = dist.min(axis=1)
    typical = float(np.median(nearest))
    floor = max(typical, 1e-3)
    return {names[i]: (f"far from the other shots: thumbnail distance {nearest[i]:.3f} to the nearest one, "
                       f"{nearest[i] / floor:.1f}x the set's median {typical:.3f} (at most {ratio:g}x): another "
                       "product, camera or an empty fixture?")
            for i in range(len(names)) if nearest[i] > ratio * floor}
