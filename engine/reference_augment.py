"""Reference augmentation: more views of each good shot for the nearest-neighbour pools.

For products whose orientation or position varies (screws, cookies), a frame's patch may have
its match only in a turned or shifted shot. The views join the pools; each stays tied to its
shot, so the leave-one-out statistics leave out a shot together with all of its views.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.errors import EngineError

AUGMENTS = ("none", "flips", "rotations", "dihedral", "shifts")
SHIFT_FRACTION = 1 / 16  # of the image side: a few cells of the coarsest level


def check_augment(name: str) -> str:
    if name not in AUGMENTS:
        raise EngineError(f"reference augmentation: expected one of {AUGMENTS}, got {name!r}")
    return name


def _shift(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_REFLECT)


def extra_views(image: np.ndarray, name: str) -> list[np.ndarray]:
    """The augmented views of one shot, the shot itself not included."""
    check_augment(name)
    if name == "none":
        return []
    if name == "flips":
        return [image[:, ::-1], image[::-1, :]]
    if name == "rotations":
        return [np.rot90(image, k) for k in (1, 2, 3)]
    if name == "dihedral":
        return [np.rot90(image, k) for k in (1, 2, 3)] + [np.rot90(image[:, ::-1], k) for k in range(4)]
    dy, dx = (max(1, int(round(s * SHIFT_FRACTION))) for s in image.shape[:2])
    return [_shift(image, sx, sy) for sx, sy in ((dx, 0), (-dx, 0), (0, dy), (0, -dy))]
