"""Where training images come from: MVTec-layout roots plus optional extra good-image sets.

Extras: "textures" (crops of scikit-image's real textures), "surfaces" (crops of more of its
bundled images that look like inspected surfaces: a cratered moon, a star field, stained tissue,
printed text, and a generated binary blob pattern) and "elpv" (good solar-cell EL images from the
elpv-dataset package). Extras bring only good images: synthetic anomalies are made on
them, so any folder of good images can train the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from engine.data.mvtec import Sample, index_root, load_mask, load_rgb

EXTRAS = ("textures", "surfaces", "elpv")
TEXTURES = ("brick", "grass", "gravel")
SURFACES = ("moon", "hubble_deep_field", "immunohistochemistry", "page", "text", "binary_blobs")


@dataclass
class CategoryData:
    """Loaders (not pixels) so images are read once, when their features are cached."""

    name: str
    good: list[Callable[[], np.ndarray]] = field(default_factory=list)
    anomalous: list[Callable[[], tuple[np.ndarray, np.ndarray]]] = field(default_factory=list)
    heldout_good: list[Callable[[], np.ndarray]] = field(default_factory=list)
    heldout_anomalous: list[Callable[[], np.ndarray]] = field(default_factory=list)


def _anomalous_loader(s: Sample) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    def load():
        img = load_rgb(s.path)
        return img, load_mask(s.mask_path, img.shape[:2])

    return load


def from_roots(roots, heldout_fraction: float, seed: int) -> list[CategoryData]:
    """Every category of every root; train AND test splits are used (the paper's protocol), with
    a fixed fraction of each category's test images held out for checkpoint selection."""
    cats: dict[str, CategoryData] = {}
    for root in roots:
        rng = np.random.default_rng(seed)  # per root: a root's split does not depend on the others
        for s in index_root(root):
            cat = cats.setdefault(s.category, CategoryData(s.category))
            if s.split == "test" and rng.random() < heldout_fraction:
                target = cat.heldout_anomalous if s.is_anomalous else cat.heldout_good
                target.append(lambda p=s.path: load_rgb(p))
            elif s.is_anomalous:
                if s.mask_path is not None:
                    cat.anomalous.append(_anomalous_loader(s))
            else:
                cat.good.append(lambda p=s.path: load_rgb(p))
    return list(cats.values())


def _skimage_image(name: str) -> np.ndarray:
    import skimage.data

    if name == "binary_blobs":  # generated, fixed seed: a dense pattern of blobs, like a printed layout
        return skimage.data.binary_blobs(length=512, blob_size_fraction=0.04, volume_fraction=0.35, rng=0).astype(np.uint8) * 255
    return getattr(skimage.data, name)()


def texture_categories(crops: int, seed: int, names=TEXTURES, prefix: str = "texture",
                       sizes: tuple[float, float] = (1 / 3, 1 / 2)) -> list[CategoryData]:
    """Random square crops of each named image, their side a `sizes` fraction of its short side."""
    rng = np.random.default_rng(seed)
    out = []
    for name in names:
        tex = _skimage_image(name)
        tex = np.repeat(tex[:, :, None], 3, 2) if tex.ndim == 2 else tex[:, :, :3]
        cat = CategoryData(f"{prefix}_{name}")
        h, w = tex.shape[:2]
        for _ in range(crops):
            size = int(rng.integers(int(min(h, w) * sizes[0]), int(min(h, w) * sizes[1])))
            y, x = int(rng.integers(0, h - size)), int(rng.integers(0, w - size))
            crop = tex[y : y + size, x : x + size].copy()
            cat.good.append(lambda c=crop: c)
        out.append(cat)
    return out


def elpv_utils():
    """The elpv-dataset package's utils module (an optional extra), or a ValueError saying how to get it."""
    try:
        from elpv_dataset import utils
    except ImportError as exc:
        raise ValueError("elpv needs the elpv-dataset package: .venv/bin/pip install -e '.[train]'") from exc
    return utils


def elpv_categories(per_type: int, seed: int) -> list[CategoryData]:
    images, probs, types = elpv_utils().load_dataset()
    rng = np.random.default_rng(seed)
    out = []
    for kind in ("mono", "poly"):
        idx = np.flatnonzero((probs == 0) & (types == kind))
        idx = rng.choice(idx, size=min(per_type, len(idx)), replace=False)
        cat = CategoryData(f"elpv_{kind}")
        for i in idx:
            gray = images[i]
            cat.good.append(lambda g=gray: np.repeat(g[:, :, None], 3, 2))
        out.append(cat)
    return out


def collect_sets(roots, extras=(), heldout_fraction=0.25, seed=0, texture_crops=40, elpv_per_type=150):
    """{set name: categories}: one entry per root and per extra, so each can be cached alone."""
    sets = {f"root-{Path(r).resolve().name}": from_roots([r], heldout_fraction, seed) for r in roots}
    for extra in extras:
        if extra == "textures":
            sets["extra-textures"] = texture_categories(texture_crops, seed)
        elif extra == "surfaces":
            # larger crops than the textures: page and text are small images
            sets["extra-surfaces"] = texture_categories(texture_crops, seed, SURFACES, "surface", (1 / 2, 9 / 10))
        elif extra == "elpv":
            sets["extra-elpv"] = elpv_categories(elpv_per_type, seed)
        else:
            raise ValueError(f"extra training data {extra!r}: expected one of {EXTRAS}")
    return sets
