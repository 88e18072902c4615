"""Image quality checks for enrollment shots: decodes, minimum size, content, blur, near-duplicates.

Content (blank, flat-filled like a garbled file, far from the other shots): content.py.

Each shot is judged on its own (decodes, size) and against the set (blur, duplicates), since
"sharp enough" and "different enough" only make sense relative to the other shots of the same
product under the same camera:

- blur: variance of the Laplacian on a grey copy resized to a common width, divided by the mean
  squared gradient. Raw Laplacian variance grows with how much edge a part shows (a blank
  board region scores 25x lower than a dense one, though both are sharp); the ratio measures
  how steep the edges are, not how many there are. A shot is rejected when its sharpness is
  below `blur_ratio` x the median sharpness of the set (a 2 px Gaussian blur drops it ~15x).
- near-duplicate: 32x32 grey thumbnails; a shot whose mean absolute difference (0..1 scale) to
  an earlier accepted shot is below `duplicate_distance` adds no information and is rejected.
  On the demo boards distinct parts are >= 0.088 apart, the same part with sensor noise
  (sigma 8 grey levels) ~0.010, the same part shifted 3 px ~0.033 (kept: a new pose).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from resad_station.capture.decode import ImageDecodeError, read_image_file
from resad_station.enrollment.content import blank_problem, flat_fill_problem, outliers

SHARPNESS_WIDTH = 512  # common width for the blur measure, so image size does not bias it
THUMB_SIZE = 32


@dataclass(frozen=True)
class QualitySettings:
    min_side: int = 64
    blur_ratio: float = 0.5
    duplicate_distance: float = 0.02
    min_contrast: float = 3.0  # grey-level std (of 255) below which a shot is blank
    max_flat_share: float = 0.25  # of the image in noise-free blocks of one grey level (a garbled file)
    outlier_ratio: float = 3.0  # nearest-shot distance over the set's median that makes a shot an outlier


@dataclass(frozen=True)
class Shot:
    """One enrollment image, from a file (name = its path) or a live frame."""

    name: str
    image: np.ndarray  # HxWx3 uint8 RGB
    source: str = "file"  # where it came from: file | live | review (stored with the reference image)


@dataclass(frozen=True)
class Reject:
    name: str
    reason: str


@dataclass
class QualityReport:
    accepted: list[Shot] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    sharpness: dict[str, float] = field(default_factory=dict)  # name -> sharpness (see above)


def load_shots(paths: Sequence[str | Path], max_megapixels: float | None = None) -> tuple[list[Shot], list[Reject]]:
    """Decode files (with the same size guard as the cameras); the others become rejects saying why."""
    shots, rejects = [], []
    for path in paths:
        try:
            shots.append(Shot(str(path), read_image_file(path, max_megapixels=max_megapixels)))
        except FileNotFoundError:
            rejects.append(Reject(str(path), "does not exist"))
        except ImageDecodeError as exc:
            reason = str(exc)
            rejects.append(Reject(str(path), reason if reason.startswith("empty file") else f"does not decode: {reason}"))
        except OSError as exc:
            rejects.append(Reject(str(path), f"cannot be read: {exc.strerror or exc}"))
    return shots, rejects


def sharpness(image: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    grey = cv2.resize(grey, (SHARPNESS_WIDTH, max(1, round(h * SHARPNESS_WIDTH / w))), interpolation=cv2.INTER_AREA)
    grey = grey.astype(np.float64)
    gx = cv2.Sobel(grey, cv2.CV_64F, 1, 0)
    gy = cv2.Sobel(grey, cv2.CV_64F, 0, 1)
    gradient_energy = float((gx * gx + gy * gy).mean())
    if gradient_energy < 1e-6:  # a flat image has no edges at all: as blurred as it gets
        return 0.0
    return float(cv2.Laplacian(grey, cv2.CV_64F).var()) / gradient_energy


def thumbnail(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (THUMB_SIZE, THUMB_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _shape_problem(image: object, min_side: int) -> str | None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        desc = f"{image.shape} {image.dtype}" if isinstance(image, np.ndarray) else type(image).__name__
        return f"not an HxWx3 uint8 RGB image ({desc})"
    h, w = image.shape[:2]
    if min(h, w) < min_side:
        return f"too small: {w}x{h} px, the shorter side must be at least {min_side} px"
    return None


def check_shots(shots: Sequence[Shot], settings: QualitySettings = QualitySettings()) -> QualityReport:
    """Split shots into accepted and rejected (with reasons), keeping their order."""
    report = QualityReport()
    sized: list[Shot] = []
    for shot in shots:
        problem = (_shape_problem(shot.image, settings.min_side) or blank_problem(shot.image, settings.min_contrast)
                   or flat_fill_problem(shot.image, settings.max_flat_share))
        if problem:
            report.rejects.append(Reject(shot.name, problem))
        else:
            sized.append(shot)
    for shot in sized:
        report.sharpness[shot.name] = sharpness(shot.image)
    median = float(np.median(list(report.sharpness.values()))) if report.sharpness else 0.0
    kept_thumbs: list[tuple[str, np.ndarray]] = []
    for shot in sized:
        sharp = report.sharpness[shot.name]
        if len(sized) >= 3 and sharp < settings.blur_ratio * median:
            # With fewer than 3 shots the median is one of the two: no meaningful reference.
            report.rejects.append(
                Reject(shot.name, f"blurred: sharpness {sharp:.4f} is below {settings.blur_ratio:.0%} of the set's median {median:.4f}")
            )
            continue
        thumb = thumbnail(shot.image)
        duplicate_of = next(
            (name for name, other in kept_thumbs if float(np.abs(thumb - other).mean()) < settings.duplicate_distance),
            None,
        )
        if duplicate_of is not None:
            report.rejects.append(Reject(shot.name, f"near-duplicate of {duplicate_of}"))
            continue
        kept_thumbs.append((shot.name, thumb))
        report.accepted.append(shot)
    # after blur and duplicates: a duplicate's tiny distance would make every other shot look far
    far = outliers([s.name for s in report.accepted], [t for _, t in kept_thumbs], settings.outlier_ratio)
    report.rejects += [Reject(name, reason) for name, reason in far.items()]
    report.accepted = [s for s in report.accepted if s.name not in far]
    order = {shot.name: i for i, shot in reversed(list(enumerate(shots)))}
    report.rejects.sort(key=lambda r: order.get(r.name, len(order)))  # in the order given
    return report
