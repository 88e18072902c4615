"""Input checks, conversion to 8-bit RGB, region of interest and the resize geometry.

Geometry: after the optional ROI crop the image is resized, keeping its aspect ratio, to sides
that are multiples of the backbone stride (32). The scale is input_size / short_side: short_side
is the reference shots' (a reference set records the median of its shots' short sides), so a
frame larger or smaller than the shots is read at the shots' scale and a defect keeps its size in
the features; without one (the shots themselves, sets made before this) the image's own short
side, which gives every image the input size as its short side. Both are the same for frames of
the shots' size, the usual case of a fixed camera.

Resizing is bilinear with antialiasing (a triangle filter widened by the scale when shrinking, as
in PIL and torchvision), on the 8-bit pixels. Measured on a 600 px frame here: 0.25 ms, against
1.1 ms for OpenCV's INTER_AREA at a non-integer scale, which the first engine versions used. The
filter shapes the features, so reference sets record it (PREPROCESS_ID) and a set built with
another one is refused rather than compared against frames it does not match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from engine.backbone import INPUT_MULTIPLE, MEAN, STD
from engine.errors import InputImageError

MIN_SIDE = 32
# at the shots' scale, a frame much larger than the shots would become a network input this many
# times the input size squared (at 512 px, 4.2 MP): refused rather than left to fill the memory
MAX_SCALED_AREA = 16
PREPROCESS_ID = "short-side/bilinear-antialias"
LEGACY_PREPROCESS_ID = "short-side/cv2-inter-area"  # reference sets that name no preprocessing
# how frames are scaled against a set's shots; cached evaluations are keyed on it
FRAME_SCALE = "input_size / the reference shots' median short side"


def describe(obj) -> str:
    if isinstance(obj, np.ndarray):
        return f"array of shape {obj.shape} and dtype {obj.dtype}"
    return f"object of type {type(obj).__name__}"


def to_rgb_uint8(image, what: str = "image") -> np.ndarray:
    """Return image as contiguous HxWx3 uint8 RGB; gray, RGBA, 16-bit and [0,1] float are converted."""
    if not isinstance(image, np.ndarray):
        raise InputImageError(f"{what}: expected an HxWx3 uint8 RGB array, got {describe(image)}")
    if image.size == 0:
        raise InputImageError(f"{what}: empty image ({describe(image)})")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise InputImageError(
            f"{what}: expected HxW (gray), HxWx3 (RGB) or HxWx4 (RGBA), got {describe(image)}"
        )
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InputImageError(f"{what}: too small ({w}x{h} px); both sides must be >= {MIN_SIDE} px")
    if image.dtype == np.uint8:
        pass
    elif image.dtype == np.uint16:
        image = (image.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    elif image.dtype in (np.float32, np.float64, np.float16):
        if not np.isfinite(image).all():
            raise InputImageError(f"{what}: contains NaN or infinite values ({describe(image)})")
        lo, hi = float(image.min()), float(image.max())
        if lo < 0.0 or hi > 1.0:
            raise InputImageError(
                f"{what}: float images must lie in [0, 1], got values in [{lo:.3g}, {hi:.3g}]"
            )
        image = np.round(image * 255.0).astype(np.uint8)
    elif image.dtype == np.bool_ or not np.issubdtype(image.dtype, np.number):
        raise InputImageError(f"{what}: not an image ({describe(image)})")
    else:
        raise InputImageError(f"{what}: unsupported pixel type {image.dtype}; use uint8, uint16 or float in [0,1]")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.shape[2] == 4:
        image = image[:, :, :3]
    return np.ascontiguousarray(image)


def crop_roi(image: np.ndarray, roi) -> np.ndarray:
    if roi is None:
        return image
    x, y, w, h = (int(v) for v in roi)
    H, W = image.shape[:2]
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > W or y + h > H:
        raise InputImageError(f"roi {tuple(roi)} (x, y, w, h) does not fit inside the {W}x{H} image")
    if min(w, h) < MIN_SIDE:
        raise InputImageError(f"roi {tuple(roi)}: both sides must be >= {MIN_SIDE} px")
    return image[y : y + h, x : x + w]


def input_shape(height: int, width: int, input_size: int, short_side: int | None = None) -> tuple[int, int]:
    """Processed (height, width), both multiples of 32, aspect kept, at scale input_size / short_side
    (the image's own short side when None: that side becomes ~ input_size)."""
    scale = input_size / (short_side or min(height, width))

    def snap(v: float) -> int:
        return max(INPUT_MULTIPLE, int(round(v * scale / INPUT_MULTIPLE)) * INPUT_MULTIPLE)

    return snap(height), snap(width)


def shots_short_side(images, roi=None, what: str = "reference image") -> int:
    """The median short side of the shots after their ROI cut: the scale a reference set's frames
    are read at (each image is checked, and named by its index, as prepare does)."""
    sides = [min(crop_roi(to_rgb_uint8(img, f"{what} {i}"), roi).shape[:2]) for i, img in enumerate(images)]
    return int(np.median(sides))


@dataclass(frozen=True)
class Prepared:
    tensor: torch.Tensor  # 3 x h x w, normalised
    original_shape: tuple[int, int]  # full image (H, W)
    roi: tuple[int, int, int, int] | None


_MEAN_T = torch.tensor(MEAN, dtype=torch.float32).view(3, 1, 1) * 255.0
_STD_T = torch.tensor(STD, dtype=torch.float32).view(3, 1, 1) * 255.0


def prepare(image, input_size: int, roi=None, what: str = "image", short_side: int | None = None) -> Prepared:
    rgb = to_rgb_uint8(image, what)
    crop = crop_roi(rgb, roi)
    h, w = input_shape(crop.shape[0], crop.shape[1], input_size, short_side)
    if short_side is not None and h * w > MAX_SCALED_AREA * input_size * input_size:
        raise InputImageError(
            f"{what}: {crop.shape[1]}x{crop.shape[0]} px is far larger than the reference shots (short side "
            f"{short_side} px): at their scale it would be a {w}x{h} px network input, over {MAX_SCALED_AREA}x "
            f"{input_size}x{input_size}; cut it like the shots (camera roi) or enroll shots of this size")
    # (1, 3, H, W) with channels-last strides: a view of the HWC pixels, the layout torch's
    # vectorised uint8 antialiased resize takes
    pixels = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).unsqueeze(0)
    if (h, w) != crop.shape[:2]:
        pixels = F.interpolate(pixels, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    # one float conversion and an in-place per-channel normalisation
    tensor = pixels[0].float().sub_(_MEAN_T).div_(_STD_T)
    return Prepared(tensor, rgb.shape[:2], None if roi is None else tuple(int(v) for v in roi))
