"""Synthetic anomalies with pixel masks, made on good images.

With these, any folder of good images can train the ResAD heads (the OCC and BG-SPP losses need
anomalous positions). Three kinds, each chosen with equal probability:

- "cutpaste": a patch of the same image, rotated and brightness/contrast-jittered, pasted elsewhere
  (CutPaste, Li et al. 2021): in-domain texture in the wrong place.
- "perlin_texture": a foreign texture (scikit-image's bundled photos: brick, grass, gravel, ...)
  blended in through a thresholded Perlin-noise mask (DRAEM, Zavrtanik et al. 2021): blotches.
- "scratch": thin random smooth curves, dark or bright.

Masks are bool HxW, never empty, and cover roughly 0.5 %-15 % of the image. Everything is drawn
from the caller's `np.random.Generator`, so a seed gives the same anomaly every time.
Grayscale images (all channels equal) get grayscale textures, so the anomaly is not simply
"the only coloured pixels". Anomalies are placed anywhere in the image (no foreground mask).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from engine.errors import InputImageError

KINDS = ("cutpaste", "perlin_texture", "scratch")
TEXTURE_NAMES = ("brick", "grass", "gravel", "camera", "moon", "coins", "coffee", "chelsea",
                 "astronaut", "immunohistochemistry", "hubble_deep_field", "rocket")
MIN_FRACTION = 0.005
MAX_FRACTION = 0.15
# Mean absolute change (grey levels) the anomaly must make inside its mask; below it the masked
# pixels are shifted in brightness (e.g. a patch pasted onto an identical uniform area).
MIN_MEAN_CHANGE = 12.0


@dataclass(frozen=True)
class SyntheticAnomaly:
    image: np.ndarray  # HxWx3 uint8, the defective image
    mask: np.ndarray  # bool HxW, True where the image was altered
    kind: str


# ----------------------------------------------------------------------------- Perlin noise

def _fade(t: np.ndarray) -> np.ndarray:
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def perlin_noise(shape: tuple[int, int], res: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """2-D gradient (Perlin) noise in about [-0.7, 0.7], float32 HxW; `res` cells along (y, x).

    Vectorised: one random unit gradient per lattice corner, dot products with the offsets of
    every pixel to its cell's four corners, quintic interpolation.
    """
    h, w = int(shape[0]), int(shape[1])
    ry, rx = max(1, int(res[0])), max(1, int(res[1]))
    angles = rng.uniform(0.0, 2.0 * np.pi, size=(ry + 1, rx + 1))
    gy, gx = np.sin(angles).astype(np.float32), np.cos(angles).astype(np.float32)
    y = np.arange(h, dtype=np.float32) * (ry / h)
    x = np.arange(w, dtype=np.float32) * (rx / w)
    y0, x0 = y.astype(np.int64), x.astype(np.int64)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]

    def corner(dy: int, dx: int) -> np.ndarray:
        iy, ix = (y0 + dy)[:, None], (x0 + dx)[None, :]
        return gx[iy, ix] * (fx - dx) + gy[iy, ix] * (fy - dy)

    ty, tx = _fade(fy), _fade(fx)
    top = corner(0, 0) + tx * (corner(0, 1) - corner(0, 0))
    bottom = corner(1, 0) + tx * (corner(1, 1) - corner(1, 0))
    return (top + ty * (bottom - top)).astype(np.float32)


def fractal_perlin_noise(shape: tuple[int, int], res: tuple[int, int], rng: np.random.Generator,
                         octaves: int = 2) -> np.ndarray:
    """Sum of `octaves` Perlin layers, each at double frequency and half amplitude."""
    total = np.zeros(shape, dtype=np.float32)
    amplitude = 1.0
    for octave in range(octaves):
        scale = 2 ** octave
        total += amplitude * perlin_noise(shape, (res[0] * scale, res[1] * scale), rng)
        amplitude *= 0.5
    return total


# ----------------------------------------------------------------------------- helpers

@lru_cache(maxsize=None)
def _texture(name: str) -> np.ndarray:
    """A bundled scikit-image photo as HxWx3 uint8 (loaded once; they ship in the wheel)."""
    import skimage.data

    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = image[:, :, :3].astype(np.uint8)
    image.setflags(write=False)
    return image


def _is_gray(image: np.ndarray) -> bool:
    return bool(np.array_equal(image[:, :, 0], image[:, :, 1]) and np.array_equal(image[:, :, 1], image[:, :, 2]))


def _to_gray3(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return np.repeat(gray[:, :, None], 3, axis=2)


def _blend(image: np.ndarray, other: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """image * (1 - alpha) + other * alpha, alpha HxW in [0, 1]."""
    a = alpha.astype(np.float32)[:, :, None]
    out = image.astype(np.float32) * (1.0 - a) + other.astype(np.float32) * a
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _jitter(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random contrast and a brightness shift away from the patch's mean (never a no-op)."""
    contrast = rng.uniform(0.7, 1.3)
    shift = rng.uniform(15.0, 45.0) * (-1.0 if patch.mean() > 127 else 1.0)
    mean = patch.mean(axis=(0, 1), keepdims=True)
    out = (patch.astype(np.float32) - mean) * contrast + mean + shift
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _ensure_visible(original: np.ndarray, result: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shift the masked pixels in brightness when the anomaly barely changed them."""
    diff = np.abs(result.astype(np.int16) - original.astype(np.int16))[mask].mean()
    if diff >= MIN_MEAN_CHANGE:
        return result
    region = result[mask].astype(np.float32)
    shift = -40.0 if region.mean() > 127 else 40.0
    out = result.copy()
    out[mask] = np.clip(region + shift, 0, 255).astype(np.uint8)
    return out


# ----------------------------------------------------------------------------- the three kinds

def cut_paste(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A jittered, rotated patch of the image pasted at another place."""
    h, w = image.shape[:2]
    area = rng.uniform(0.01, 0.08) * h * w
    aspect = np.exp(rng.uniform(np.log(0.3), np.log(3.3)))
    ph = int(np.clip(round(np.sqrt(area * aspect)), 2, h - 1))
    pw = int(np.clip(round(np.sqrt(area / aspect)), 2, w - 1))
    sy, sx = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
    patch = _jitter(image[sy:sy + ph, sx:sx + pw], rng)
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    # Rotate patch and its footprint together on a canvas big enough for any angle.
    side = int(np.ceil(np.hypot(ph, pw)))
    side = min(side, h, w)
    angle = rng.uniform(-45.0, 45.0)
    rot = cv2.getRotationMatrix2D((pw / 2.0, ph / 2.0), angle, 1.0)
    rot[:, 2] += (side / 2.0 - pw / 2.0, side / 2.0 - ph / 2.0)
    warped = cv2.warpAffine(np.ascontiguousarray(patch), rot, (side, side), flags=cv2.INTER_LINEAR)
    footprint = cv2.warpAffine(np.full((ph, pw), 255, np.uint8), rot, (side, side),
                               flags=cv2.INTER_NEAREST) > 127
    dy, dx = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    mask = np.zeros((h, w), dtype=bool)
    mask[dy:dy + side, dx:dx + side] = footprint
    out = image.copy()
    out[dy:dy + side, dx:dx + side][footprint] = warped[footprint]
    return out, mask


def perlin_texture(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Blotches of a foreign texture through a thresholded Perlin mask."""
    h, w = image.shape[:2]
    scale = 2 ** int(rng.integers(1, 4))  # 2..8 cells: a few large blobs to several small ones
    noise = fractal_perlin_noise((h, w), (scale, scale), rng)
    if rng.random() < 0.7:
        # Mostly one localised blotch: a Gaussian bump lifts the noise around a random centre,
        # so the thresholded region is a ragged blob instead of confetti over the whole image.
        cy, cx = rng.uniform(0.15, 0.85) * h, rng.uniform(0.15, 0.85) * w
        sigma = rng.uniform(0.1, 0.25) * min(h, w)
        yy = ((np.arange(h, dtype=np.float32) - cy) / sigma) ** 2
        xx = ((np.arange(w, dtype=np.float32) - cx) / sigma) ** 2
        noise = noise + np.exp(-0.5 * (yy[:, None] + xx[None, :]))
    # Threshold at a quantile: the blotches cover a drawn fraction of the image whatever the noise.
    fraction = rng.uniform(0.02, 0.12)
    mask = noise > np.quantile(noise, 1.0 - fraction)
    name = TEXTURE_NAMES[int(rng.integers(len(TEXTURE_NAMES)))]
    texture = _texture(name)
    th, tw = texture.shape[:2]
    crop = int(rng.integers(min(th, tw) // 3, min(th, tw) + 1))
    ty, tx = int(rng.integers(0, th - crop + 1)), int(rng.integers(0, tw - crop + 1))
    texture = texture[ty:ty + crop, tx:tx + crop]
    texture = np.rot90(texture, int(rng.integers(4)))
    texture = cv2.resize(np.ascontiguousarray(texture), (w, h), interpolation=cv2.INTER_AREA)
    if _is_gray(image):
        texture = _to_gray3(texture)
    opacity = rng.uniform(0.6, 1.0)
    alpha = mask.astype(np.float32) * opacity
    return _blend(image, texture, alpha), mask


def _random_curve(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Points of a smooth random curve: a walk whose heading drifts a little at every step."""
    length = rng.uniform(0.25, 0.7) * min(h, w)
    step = max(1.0, min(h, w) / 128.0)
    n = max(2, int(length / step))
    heading = rng.uniform(0.0, 2.0 * np.pi) + np.cumsum(rng.normal(0.0, 0.08, size=n))
    start = np.array([rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h])
    steps = np.stack([np.cos(heading), np.sin(heading)], axis=1) * step
    points = start + np.cumsum(steps, axis=0)
    return np.round(points).astype(np.int32)


def scratch(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One or more thin dark or bright curves."""
    h, w = image.shape[:2]
    canvas = np.zeros((h, w), dtype=np.uint8)
    thickness = max(2, int(round(min(h, w) / 128.0 * rng.uniform(1.0, 2.5))))
    target = rng.uniform(MIN_FRACTION, 0.04) * h * w
    for _ in range(12):  # strokes until the scratches cover the drawn fraction
        cv2.polylines(canvas, [_random_curve(h, w, rng)], False, 255, thickness, cv2.LINE_AA)
        if np.count_nonzero(canvas > 127) >= target:
            break
    mask = canvas > 127
    dark = rng.random() < 0.5
    value = rng.uniform(0, 40) if dark else rng.uniform(215, 255)
    colour = np.full_like(image, int(value))
    alpha = canvas.astype(np.float32) / 255.0 * rng.uniform(0.7, 1.0)
    return _blend(image, colour, alpha), mask


_MAKERS = {"cutpaste": cut_paste, "perlin_texture": perlin_texture, "scratch": scratch}


def _fallback_box(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A small rectangle: used only if a maker left the mask empty (a degenerate tiny image)."""
    bh, bw = max(1, h // 10), max(1, w // 10)
    y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    mask = np.zeros((h, w), dtype=bool)
    mask[y:y + bh, x:x + bw] = True
    return mask


def synthesize(image: np.ndarray, rng: np.random.Generator, kind: str | None = None) -> SyntheticAnomaly:
    """A synthetic anomaly of `kind` (one of KINDS; drawn from rng when None)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InputImageError(f"synthetic anomaly: expected an HxWx3 uint8 RGB image, got {got}")
    h, w = image.shape[:2]
    if h < 8 or w < 8:
        raise InputImageError(f"synthetic anomaly: image {w}x{h} is too small (at least 8x8)")
    if kind is None:
        kind = KINDS[int(rng.integers(len(KINDS)))]
    if kind not in _MAKERS:
        raise ValueError(f"synthetic anomaly kind {kind!r}: expected one of {KINDS}")
    out, mask = _MAKERS[kind](image, rng)
    if not mask.any():
        mask = _fallback_box(h, w, rng)
    out = _ensure_visible(image, out, mask)
    return SyntheticAnomaly(out, mask, kind)


def make_synthetic_anomaly(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(defective image HxWx3 uint8, mask bool HxW) of a randomly chosen kind; see module docstring."""
    result = synthesize(image, rng)
    return result.image, result.mask
