"""A camera-resolution video of a profile's line, for the benchmarks (`bench_resolution`, `gui --bench`).

Each line image is scaled to the frame's height and placed in the middle of a white frame of
the camera's size, written as MJPG (what industrial USB and GigE cameras stream when they
compress). The part's box is returned: with it as the profile's camera.roi the engine sees the
part as a real camera framing it would deliver it. The reference shots are placed the same way
(`camera_shots`), because enrollment cuts its shots with the same ROI as the live frames.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np

from resad_station.capture.imaging import Roi, image_files

SIZES = {"1080p": (1920, 1080), "5mp": (2448, 2048)}  # (width, height)


def make_line_video(line_dir: str | Path, size: tuple[int, int], fps: float = 30.0, count: int | None = None,
                    out_dir: str | Path | None = None) -> tuple[Path, Roi]:
    """(video path, the part's box as [x, y, w, h]) for the images of `line_dir`."""
    width, height = size
    folder = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="resad-bench-"))
    out = folder / f"line_{width}x{height}.avi"
    files = image_files([line_dir])[:count]
    if not files:
        raise ValueError(f"{line_dir}: no images to make a video of")
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write an MJPG video to {out}")
    box: Roi | None = None
    try:
        for path in files:
            canvas, box = _framed(path, size)
            writer.write(canvas)
    finally:
        writer.release()
    return out, box


def camera_shots(shots_dir: str | Path, size: tuple[int, int], out_dir: str | Path) -> Path:
    """The reference shots framed like the video's frames, as PNG files in out_dir/shots."""
    folder = Path(out_dir) / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    for path in image_files([shots_dir]):
        canvas, _ = _framed(path, size)
        cv2.imwrite(str(folder / f"{path.stem}.png"), canvas)
    return folder


def _framed(path: Path, size: tuple[int, int]) -> tuple[np.ndarray, Roi]:
    """The image scaled to fit a white width x height frame, centred (BGR), and its box there."""
    width, height = size
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: not an image OpenCV can read")
    scale = min(width / image.shape[1], height / image.shape[0])
    w, h = round(image.shape[1] * scale), round(image.shape[0] * scale)
    canvas = np.full((height, width, 3), 255, np.uint8)
    x, y = (width - w) // 2, (height - h) // 2
    canvas[y:y + h, x:x + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    return canvas, (x, y, w, h)
