"""Content-addressed image files next to the database.

A file's name is the sha256 of its bytes, sharded by the first two hex digits
(`ab/abcdef....png`), so identical frames (a looping replay) are stored once and a file can be
verified against its row. Files are written atomically and BEFORE the row that points at them
is committed: a crash can leave an unreferenced file, never a row pointing at half a file.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from resad_station.storage.atomic import TEMP_SUFFIX, atomic_write_bytes
from resad_station.storage.errors import StorageError, describe_os_error


@dataclass(frozen=True)
class StoredFile:
    """A file in the store: `path` relative to the store root (POSIX separators) + its sha256."""

    path: str
    sha256: str


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class ImageStore:
    """Files under `root`, named by content. Safe to share between threads."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, rel: str) -> Path:
        """Absolute path of a stored file; refuses paths that would leave the store."""
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts:
            raise StorageError(f"image path {rel!r} is not a path inside the image store")
        return self.root.joinpath(*pure.parts)

    def put_bytes(self, data: bytes, suffix: str) -> StoredFile:
        """Store `data` (already encoded) under its sha256 with `suffix` (".png", ".npy"...)."""
        if not suffix.startswith(".") or "/" in suffix or "\\" in suffix:
            raise ValueError(f"suffix must look like '.png' (got {suffix!r})")
        digest = sha256_bytes(data)
        rel = f"{digest[:2]}/{digest}{suffix.lower()}"
        target = self.path(rel)
        # Same name means same bytes: an existing, intact file needs no second write, only a fresh
        # mtime, so that retention (which spares recently used files) leaves it to the row about to
        # point at it. Two processes writing the same new file at once each rename a whole copy.
        try:
            if not self._reuse(target, len(data)):
                atomic_write_bytes(target, data)
        except OSError as exc:
            raise describe_os_error(exc, f"image file {target}") from exc
        return StoredFile(rel, digest)

    @staticmethod
    def _reuse(target: Path, size: int) -> bool:
        try:
            if target.stat().st_size != size:
                return False
            os.utime(target)
            return True
        except FileNotFoundError:  # not there (or deleted by retention a moment ago): write it
            return False

    def put_image(self, rgb: np.ndarray, suffix: str = ".png") -> StoredFile:
        """Encode an HxWx3 (RGB) or HxW uint8 image with OpenCV and store it."""
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim not in (2, 3):
            raise ValueError(f"expected an HxWx3 or HxW uint8 array (got {_describe_array(rgb)})")
        if rgb.ndim == 3 and rgb.shape[2] != 3:
            raise ValueError(f"expected 3 channels (RGB) (got {_describe_array(rgb)})")
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
        ok, encoded = cv2.imencode(suffix, bgr)
        if not ok:
            raise StorageError(f"OpenCV could not encode the image as {suffix}")
        return self.put_bytes(encoded.tobytes(), suffix)

    def put_array(self, array: np.ndarray, dtype: type = np.float32) -> StoredFile:
        """Store a float map (raw anomaly map) as .npy (float32, or float16 where given), without pickle."""
        if dtype not in (np.float32, np.float16):
            raise ValueError(f"raw maps are stored as float32 or float16 (got {dtype})")
        array = np.ascontiguousarray(array, dtype=dtype)
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return self.put_bytes(buffer.getvalue(), ".npy")

    def read_image(self, rel: str) -> np.ndarray:
        """The stored image as RGB uint8 (HxWx3) or gray (HxW)."""
        data = np.fromfile(self.path(rel), dtype=np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if image is None:
            raise StorageError(f"image file {rel} ({data.size} bytes) cannot be decoded as an image (corrupt or truncated)")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if image.ndim == 3 else image

    def read_array(self, rel: str) -> np.ndarray:
        return np.load(self.path(rel), allow_pickle=False)

    def verify(self, rel: str, sha256: str) -> str | None:
        """None when the file exists with this sha256, else "missing" or "mismatch"."""
        path = self.path(rel)
        if not path.is_file():
            return "missing"
        return None if sha256_file(path) == sha256 else "mismatch"

    def delete(self, rel: str, unused_for_s: float = 0.0) -> bool:
        """Remove a file (retention); True when something was removed.

        unused_for_s: keep a file stored or reused (put_*) within that many seconds: in a plant's
        shared folder another station may be about to commit a row that points at it.
        """
        path = self.path(rel)
        try:
            if unused_for_s > 0 and time.time() - path.stat().st_mtime < unused_for_s:
                return False
            path.unlink()
            return True
        except FileNotFoundError:
            return False

    def stale_temp_files(self) -> list[Path]:
        """Temp files a crash left mid-write (never referenced by a row; safe to delete)."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob(f"*/.*{TEMP_SUFFIX}") if p.is_file())


def _describe_array(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return type(value).__name__
