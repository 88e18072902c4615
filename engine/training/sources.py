"""Where training images come from: MVTec-layout roots plus optional extra good-image sets.

Extras: "textures" (crops of scikit-image's real textures) and "elpv" (good solar-cell EL images
from the elpv-dataset package). Extras bring only good images: synthetic anomalies are made on
them, so any folder of good images can train the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from engine.data.mvtec import Sample, index_root, load_mask, load_rgb

EXTRAS = ("textures", "elpv")
TEXTURES = ("brick", "grass", "gravel")


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


def texture_categories(crops: int, seed: int) -> list[CategoryData]:
    import skimage.data

    rng = np.random.default_rng(seed)
    out = []
    for name in TEXTURES:
        tex = getattr(skimage.data, name)()
        tex = np.repeat(tex[:, :, None], 3, 2) if tex.ndim == 2 else tex[:, :, :3]
        cat = CategoryData(f"texture_{name}")
        h, w = tex.shape[:2]
        for _ in range(crops):
            size = int(rng.integers(min(h, w) // 3, min(h, w) // 2))
            y, x = int(rng.integers(0, h - size)), int(rng.integers(0, w - size))
            crop = tex[y : y + size, x : x + size].copy()
            cat.good.append(lambda c=crop: c)
        out.append(cat)
    return out


def elpv_categories(per_type: int, seed: int) -> list[CategoryData]:
    try:
        from elpv_dataset.utils import load_dataset
    except ImportError as exc:
        raise ValueError("--extra elpv needs the elpv-dataset package: pip install '.[train]'") from exc

    images, probs, types = load_dataset()
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
        elif extra == "elpv":
            sets["extra-elpv"] = elpv_categories(elpv_per_type, seed)
        else:
            raise ValueError(f"extra training data {extra!r}: expected one of {EXTRAS}")
    return sets
