"""Images as the station takes them in: which files of a folder, in which order, and the ROI cut.

Enrollment, the file sources and the runtime all list folders here, with the suffixes and the
natural sort of decode.py, so a folder enrolls in the same order it replays.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .decode import is_image_file, natural_key

Roi = tuple[int, int, int, int]


def image_files(items: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given, folders expanded to their image files in natural order (the line order)."""
    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            names = [e.name for e in os.scandir(path) if e.is_file() and is_image_file(e.name)]
            out += [path / name for name in sorted(names, key=natural_key)]
        else:
            out.append(path)  # a missing or odd file is reported by the loader, naming it
    return out


def crop_roi(image: np.ndarray, roi: Roi | None, where: str = "camera.roi") -> np.ndarray:
    """The region of interest (x, y, w, h), clipped to the image; an ROI outside it is an error."""
    if roi is None:
        return image
    x, y, w, h = roi
    H, W = image.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"{where} {list(roi)} lies outside the {W}x{H} frame")
    return image[y0:y1, x0:x1]
