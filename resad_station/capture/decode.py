"""Decoding image files into the one format the station works in: HxWx3 uint8 RGB."""

from __future__ import annotations

import errno
import io
import os
import re
import struct
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

# OpenCV's own log lines ("imdecode_(''): can't read data") name no file; the station reports instead
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
_STDERR_LOCK = threading.Lock()

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


DEFAULT_MAX_MEGAPIXELS = 50.0  # a profile's camera.max_megapixels; 50 MP is more than any line camera here
MAX_ASPECT = 50  # longer side / shorter side: a 100 x 10000 strip is a mistake, and costs seconds per frame


class ImageDecodeError(ValueError):
    """A file or buffer that is not an image the station can inspect; the message says why."""


# what libjpeg / libpng print on their own (jerror.h's warnings, libpng's); nothing else is theirs
_DECODER_LINE = re.compile(r"^(Corrupt JPEG data|Premature end of JPEG file|Invalid SOS parameters|"
                           r"Inconsistent progression sequence|Unknown Adobe color transform|libpng (warning|error))")


@contextmanager
def _decoder_messages(box: list[str]):
    """Catch what libjpeg / libpng print to stderr ("Corrupt JPEG data: ...", no file name) into `box`.

    Decoding is serialised while fd 2 points at a temp file, so the decoder's lines belong to this
    file. fd 2 is the whole process's: whatever else reached it meanwhile (another thread's warning,
    the GUI's "Ctrl-C: closing the window", Qt's own messages) is passed on to the real stderr.
    """
    with _STDERR_LOCK, tempfile.TemporaryFile() as tmp:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no fd 2 (a GUI without console): nothing prints anyway
            yield
            return
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()  # Python text written meanwhile goes through fd 2 too
            except (OSError, ValueError, AttributeError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            ours, others = _split_decoder_lines(tmp.read().decode("utf-8", "replace"))
            box.append(ours)
            if others:
                try:
                    os.write(2, others.encode("utf-8", "replace"))
                except OSError:
                    pass


def _split_decoder_lines(text: str) -> tuple[str, str]:
    """(the decoder's lines, everything else with its line breaks kept)."""
    ours, others = [], []
    for line in text.splitlines(keepends=True):
        (ours if _DECODER_LINE.match(line) else others).append(line)
    return "".join(ours).strip(), "".join(others)


def _header_size(data: bytes, limit: float | None) -> tuple[int, int] | None:
    """(width, height) from the file's header, without decoding pixels; None when unknown.

    Pillow reads only the header here. OpenCV would allocate the full frame first (a 74-byte PNG
    can claim 100000 x 100000), so the size is judged before any pixel is decoded.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's own "decompression bomb" warning: we judge the size
            with Image.open(io.BytesIO(data)) as im:
                return im.size
    except Image.DecompressionBombError as exc:  # over Pillow's own hard limit (~179 MP)
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        raise ImageDecodeError(f"too large: the header claims {int(claimed.group(1)) / 1e6 if claimed else 179:.0f} MP"
                               f", the limit is {DEFAULT_MAX_MEGAPIXELS if limit is None else limit:g} MP "
                               "(camera.max_megapixels)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error, EOFError):
        return None  # not Pillow's business: OpenCV decides


def check_frame_size(width: int, height: int, max_megapixels: float | None = None) -> None:
    """Raise ImageDecodeError when a frame is larger than the limit or absurdly elongated."""
    limit = DEFAULT_MAX_MEGAPIXELS if max_megapixels is None else float(max_megapixels)
    if width <= 0 or height <= 0:
        raise ImageDecodeError(f"empty image ({width} x {height} px)")
    if width * height > limit * 1e6:
        raise ImageDecodeError(f"too large: {width} x {height} px = {width * height / 1e6:.0f} MP, the limit is "
                               f"{limit:g} MP (camera.max_megapixels)")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageDecodeError(f"too elongated: {width} x {height} px (at most {MAX_ASPECT}:1)")


def decode_image_bytes(data: bytes, *, name: str = "", max_megapixels: float | None = None) -> np.ndarray:
    """Decode with IMREAD_UNCHANGED (keeps 16-bit and alpha) to HxWx3 uint8 RGB.

    Raises ImageDecodeError saying why it is not an image the station inspects: empty, too large
    or elongated (judged from the header, before decoding), truncated, or not decodable.
    `name` (a file name) tells the format from its extension.
    """
    if not data:
        raise ImageDecodeError("empty file (0 bytes)")
    size = _header_size(data, max_megapixels)
    if size is not None:
        check_frame_size(*size, max_megapixels)
    is_jpeg = data[:2] == b"\xff\xd8"
    if is_jpeg and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        # libjpeg would print "premature end of data segment" without a name and fill with gray
        raise ImageDecodeError("truncated JPEG (no end-of-image marker)")
    messages: list[str] = []
    try:
        with _decoder_messages(messages):
            image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:  # OpenCV's own limits and assertions: one bad file, not a crash
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ImageDecodeError(f"not a readable image (OpenCV: {reason})") from None
    said = messages[0].splitlines()[0] if messages and messages[0] else ""
    if image is None or image.size == 0:
        detail = f": {said}" if said else ""
        raise ImageDecodeError(f"not a readable image (corrupt, truncated or not an image, {len(data)} bytes{detail})")
    if is_jpeg and ("corrupt jpeg data" in said.lower() or "premature end" in said.lower()):
        # libjpeg decoded it anyway, with gray or garbage where the data was bad: not a part to judge
        raise ImageDecodeError(f"corrupt JPEG data (libjpeg: {said})")
    if size is None:
        check_frame_size(image.shape[1], image.shape[0], max_megapixels)
    try:
        return to_rgb8(image)
    except ValueError as exc:
        raise ImageDecodeError(str(exc)) from None


def read_image_file(path: str | os.PathLike[str], *, max_megapixels: float | None = None) -> np.ndarray:
    """Read and decode one file (bytes first, so non-ASCII paths work on every OS).

    Raises FileNotFoundError when it does not exist, OSError when it cannot be read, and
    ImageDecodeError when it is read but is not an image the station inspects.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "does not exist", str(path))
    if path.is_dir():
        raise ImageDecodeError("is a folder, not an image file")
    return decode_image_bytes(path.read_bytes(), name=path.name, max_megapixels=max_megapixels)


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
