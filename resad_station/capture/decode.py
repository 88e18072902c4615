"""Decoding image files into the one format the station works in: HxWx3 uint8 RGB."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pnm")


def is_image_file(path: str | os.PathLike[str]) -> bool:
    name = os.path.basename(path)
    # editors and copy tools leave hidden temporaries (".~x.png", "._x.jpg"); never inspect those
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def natural_key(name: str) -> list[object]:
    """Sort 'img2' before 'img10', the order a person expects from numbered files."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def to_rgb8(image: np.ndarray, *, bgr: bool = True) -> np.ndarray:
    """Gray, BGR, BGRA, 16-bit or float images to contiguous HxWx3 uint8 RGB.

    16-bit is scaled by its full range (/257), not by the image maximum: per-frame scaling would
    make the brightness flicker from frame to frame and fool the anomaly scores.
    """
    if image.dtype == np.uint16:
        image = (image.astype(np.uint32) * 255 + 32767) // 65535
        image = image.astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        top = 1.0 if float(np.nanmax(image)) <= 1.0 else 255.0
        image = np.clip(np.nan_to_num(image) * (255.0 / top), 0, 255).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"unsupported pixel type {image.dtype} (expected 8-bit, 16-bit or float)")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"unsupported image shape {image.shape} (expected HxW, HxWx3 or HxWx4)")
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB if bgr else cv2.COLOR_RGBA2RGB)
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if bgr else image)


def decode_image_bytes(data: bytes) -> np.ndarray | None:
    """Decode with IMREAD_UNCHANGED (keeps 16-bit and alpha); None when it is not a readable image."""
    if not data:
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        return None
    return to_rgb8(image)


def read_image_file(path: str | os.PathLike[str]) -> np.ndarray | None:
    """Read and decode one file (bytes first, so non-ASCII paths work on every OS).

    Raises FileNotFoundError / OSError when the file cannot be read, returns None when it can be
    read but is not a decodable image.
    """
    return decode_image_bytes(Path(path).read_bytes())


def looks_complete(data: bytes, name: str) -> bool:
    """Whether a JPEG or PNG has its end marker.

    A JPEG cut off mid-write still decodes (libjpeg fills the rest with gray), so a hot folder must
    not trust decoding alone. Other formats are judged by decoding only.
    """
    lower = name.lower()
    if lower.endswith((".jpg", ".jpeg")):
        return data.rstrip(b"\x00").endswith(b"\xff\xd9")
    if lower.endswith(".png"):
        return b"IEND" in data[-16:]
    return True
