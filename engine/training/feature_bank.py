"""Backbone features of every training image, computed once (the backbone is frozen).

Each item keeps its per-level features (float16 to halve memory) and, for anomalous images, its
mask down-sampled to each level's grid. Synthetic anomalies are made here, once per good image
and seed, so a training step never touches pixels.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from tqdm import tqdm

from engine.preprocess import prepare
from engine.training.sources import CategoryData
from engine.training.synthetic import make_synthetic_anomaly

MASK_LEVEL_THRESHOLD = 0.3  # a level cell is anomalous when >= 30 % of it is (keeps small defects)


@dataclass
class Item:
    feats: list[torch.Tensor]  # per level (C, H, W) float16
    masks: list[torch.Tensor] | None  # per level (H, W) float32 in {0, 1}; None = all normal

    @property
    def grid(self) -> tuple:
        return tuple(self.feats[0].shape[-2:])


@dataclass
class CategoryBank:
    name: str
    good: list[Item] = field(default_factory=list)
    real: list[Item] = field(default_factory=list)
    synthetic: list[Item] = field(default_factory=list)
    heldout_good: list[Item] = field(default_factory=list)
    heldout_anomalous: list[Item] = field(default_factory=list)


def _level_masks(mask: np.ndarray, feats: list[torch.Tensor]) -> list[torch.Tensor]:
    out = []
    for f in feats:
        h, w = f.shape[-2:]
        small = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
        out.append(torch.from_numpy((small >= MASK_LEVEL_THRESHOLD).astype(np.float32)))
    return out


class FeatureExtractor:
    def __init__(self, backbone: torch.nn.Module, input_size: int):
        self.backbone = backbone
        self.input_size = input_size

    @torch.inference_mode()
    def __call__(self, image: np.ndarray, mask: np.ndarray | None = None) -> Item:
        prepared = prepare(image, self.input_size)
        feats = [f[0].to(torch.float16).contiguous() for f in self.backbone(prepared.tensor[None])]
        masks = _level_masks(mask, feats) if mask is not None and mask.any() else None
        return Item(feats, masks)


def build_bank(
    cats: list[CategoryData], extractor: FeatureExtractor, synthetic_per_good: int, seed: int, progress=True
) -> list[CategoryBank]:
    total = sum(
        len(c.good) * (1 + synthetic_per_good) + len(c.anomalous) + len(c.heldout_good) + len(c.heldout_anomalous)
        for c in cats
    )
    bar = tqdm(total=total, desc="caching backbone features", disable=not progress, unit="img")
    banks = []
    for cat in cats:
        rng = np.random.default_rng([seed, zlib.crc32(cat.name.encode())])
        bank = CategoryBank(cat.name)
        for load in cat.good:
            img = load()
            bank.good.append(extractor(img))
            for _ in range(synthetic_per_good):
                bad, mask = make_synthetic_anomaly(img, rng)
                bank.synthetic.append(extractor(bad, mask))
            bar.update(1 + synthetic_per_good)
        for load in cat.anomalous:
            img, mask = load()
            if mask.any():  # an empty mask (magnetic_tile 'uneven') would teach the defect as normal
                bank.real.append(extractor(img, mask))
            bar.update(1)
        for load in cat.heldout_good:
            bank.heldout_good.append(extractor(load()))
            bar.update(1)
        for load in cat.heldout_anomalous:
            bank.heldout_anomalous.append(extractor(load()))
            bar.update(1)
        banks.append(bank)
    bar.close()
    return banks
