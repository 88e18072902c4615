"""Index and load MVTec-AD-layout datasets.

Layout (one category)::

    <category>/train/good/*.png|jpg|...
    <category>/test/good/*
    <category>/test/<defect>/*
    <category>/ground_truth/<defect>/<stem>_mask.png

A root is either a folder of such categories or one category folder itself; `index_root`
detects which. Folders that are not categories (e.g. DeepPCB's `annotations/`) are skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from engine.errors import InputImageError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
GOOD = "good"


@dataclass(frozen=True)
class Sample:
    """One image of a dataset.

    split: "train" or "test"; label: "good" or the defect folder name;
    mask_path: the pixel ground truth, or None (good images, or an anomalous image without one).
    """

    path: Path
    category: str
    split: str
    label: str
    is_anomalous: bool
    mask_path: Path | None


def _is_category_dir(path: Path) -> bool:
    return (path / "train").is_dir() or (path / "test").is_dir()


def _images_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _find_mask(category_dir: Path, defect: str, stem: str) -> Path | None:
    """MVTec names masks `<stem>_mask.png`; accept other image suffixes and bare `<stem>.*` too."""
    gt_dir = category_dir / "ground_truth" / defect
    if not gt_dir.is_dir():
        return None
    for name in (f"{stem}_mask", stem):
        for suffix in (".png", *sorted(IMAGE_SUFFIXES - {".png"})):
            candidate = gt_dir / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def _index_category(category_dir: Path) -> list[Sample]:
    category = category_dir.name
    samples = [
        Sample(p, category, "train", GOOD, False, None) for p in _images_in(category_dir / "train" / GOOD)
    ]
    test_dir = category_dir / "test"
    if not test_dir.is_dir():
        return samples
    missing: list[Path] = []
    for label_dir in sorted(d for d in test_dir.iterdir() if d.is_dir()):
        label = label_dir.name
        anomalous = label != GOOD
        for p in _images_in(label_dir):
            mask = _find_mask(category_dir, label, p.stem) if anomalous else None
            if anomalous and mask is None:
                missing.append(p)
            samples.append(Sample(p, category, "test", label, anomalous, mask))
    if missing:
        # Said once per category: these images count for image metrics, not for pixel metrics.
        log.warning(
            "%s: %d anomalous test image(s) have no ground-truth mask (e.g. %s); "
            "they are skipped for pixel metrics",
            category_dir, len(missing), missing[0].name,
        )
    return samples


def category_dirs(root: str | Path) -> list[Path]:
    """The category folders under `root` (or [root] when root is itself a category)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root {root} is not a folder")
    if _is_category_dir(root):
        return [root]
    found = sorted(d for d in root.iterdir() if d.is_dir() and _is_category_dir(d))
    if not found:
        raise FileNotFoundError(
            f"dataset root {root}: no MVTec-layout category found "
            "(expected <root>/<category>/train/good or <root>/train/good)"
        )
    return found


def index_root(root: str | Path, categories: Iterable[str] | None = None) -> list[Sample]:
    """Every sample under an MVTec-layout root, sorted by category, split, label and path.

    categories: keep only these category names (a name that is not there raises KeyError).
    """
    dirs = category_dirs(root)
    if categories is not None:
        wanted = list(categories)
        names = {d.name for d in dirs}
        unknown = [c for c in wanted if c not in names]
        if unknown:
            raise KeyError(f"dataset root {root}: no category {unknown}; found {sorted(names)}")
        dirs = [d for d in dirs if d.name in wanted]
    samples: list[Sample] = []
    for d in dirs:
        samples.extend(_index_category(d))
    return samples


def categories(samples_or_root: str | Path | Iterable[Sample]) -> list[str]:
    """Category names, in order, of a root or of a list of samples."""
    if isinstance(samples_or_root, (str, Path)):
        return [d.name for d in category_dirs(samples_or_root)]
    return sorted({s.category for s in samples_or_root})


def _read(path: Path, flags: int) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file {path} does not exist")
    # imdecode on bytes (not imread) so that non-ASCII paths work everywhere.
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, flags) if data.size else None
    if image is None:
        raise InputImageError(f"image file {path} could not be decoded (corrupt or not an image)")
    return image


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.clip(image, 0, 255).astype(np.uint8)


def load_rgb(path: str | Path) -> np.ndarray:
    """HxWx3 uint8 RGB; gray, RGBA (alpha dropped) and 16-bit files are converted."""
    image = _to_uint8(_read(Path(path), cv2.IMREAD_UNCHANGED))
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    raise InputImageError(f"image file {path}: {channels} channels, expected 1, 3 or 4")


def load_mask(path: str | Path | None, shape: tuple[int, ...]) -> np.ndarray:
    """Boolean HxW ground truth (pixel > 127 of the first channel), resized (nearest) to shape[:2].

    path None gives an all-False mask.
    """
    h, w = int(shape[0]), int(shape[1])
    if path is None:
        return np.zeros((h, w), dtype=bool)
    mask = _to_uint8(_read(Path(path), cv2.IMREAD_UNCHANGED))
    if mask.ndim == 3:
        mask = mask[:, :, 0]
    if mask.shape != (h, w):
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
    return mask > 127
