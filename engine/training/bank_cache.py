"""On-disk cache of feature banks (safetensors), one file per dataset root or extra set.

The frozen backbone makes features a pure function of (image, input size, synthetic seed), so
retraining with other head settings never recomputes them.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from engine.training.feature_bank import CategoryBank, Item

PARTS = ("good", "real", "synthetic", "heldout_good", "heldout_anomalous")


def save_banks(banks: list[CategoryBank], path: Path) -> None:
    tensors: dict[str, torch.Tensor] = {}
    layout = []
    for b in banks:
        counts = {}
        for part in PARTS:
            items = getattr(b, part)
            counts[part] = [it.masks is not None for it in items]
            for i, it in enumerate(items):
                for l, f in enumerate(it.feats):
                    tensors[f"{b.name}/{part}/{i}/f{l}"] = f.contiguous()
                for l, m in enumerate(it.masks or []):
                    tensors[f"{b.name}/{part}/{i}/m{l}"] = m.contiguous()
        layout.append({"name": b.name, "parts": counts, "levels": len(b.good[0].feats) if b.good else 0})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    save_file(tensors, tmp, metadata={"layout": json.dumps(layout)})
    os.replace(tmp, path)


def load_banks(path: Path) -> list[CategoryBank]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        layout = json.loads(f.metadata()["layout"])
    tensors = load_file(str(path))
    banks = []
    for entry in layout:
        bank = CategoryBank(entry["name"])
        levels = entry["levels"]
        for part, has_masks in entry["parts"].items():
            items = getattr(bank, part)
            for i, has_mask in enumerate(has_masks):
                key = f"{bank.name}/{part}/{i}"
                n = levels or sum(1 for k in tensors if k.startswith(key + "/f"))
                feats = [tensors[f"{key}/f{l}"] for l in range(n)]
                masks = [tensors[f"{key}/m{l}"] for l in range(n)] if has_mask else None
                items.append(Item(feats, masks))
        banks.append(bank)
    return banks
