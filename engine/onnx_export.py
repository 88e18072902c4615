"""Export of the engine's graphs to ONNX, with a JSON card that records what they are and their hashes.

Two graphs, because the nearest-neighbour search sits between them and stays in torch:

    features graph   image batch (B, 3, H, W), ImageNet-normalised -> the backbone's three levels,
                     channels last (B, H_l, W_l, C): the layout torch's search reads fastest
    heads graph      per level the residuals x - x* (B, C, H, W), the references' residual scale,
                     the flows' per-position condition biases and log p at 0 -> log p / C (B, H, W)

The heads graph keeps the torch engine's sparse flows: only positions the constraintor's ReLU left
non-zero go through the flow (ONNX NonZero, Gather, ScatterElements), the rest take log p at 0.
A level whose flow is the identity (the seeded start, as bundled) computes the standard normal's
log p directly, and its condition-bias and log-p-at-0 inputs are left out of the graph.
The condition biases and log p at 0 depend on the grid size alone; the runtime computes them once
per grid with the torch heads and feeds them in (engine/onnx_runtime.py). Batch, height and width
are dynamic axes: the runtime scores mini-batches, and frames keep their aspect ratio.

The exporter is torch's TorchScript-based one (dynamo=False): the dynamo exporter needs onnxscript,
which the station does not install. The graphs are written through temporary files and renamed, the
card last, so a reader never sees half a graph.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from engine.backbone import BACKBONE_ID, load_backbone
from engine.errors import EngineError
from engine.heads import ResADHeads
from engine.preprocess import PREPROCESS_ID
from engine.version import ENGINE_VERSION
from engine.weights import sha256_file

OPSET = 17
# what the graphs take and give; a change of either bumps it (the card records it, loading checks it)
FORMAT = "resad-onnx/1: features NHWC"
NO_HEADS = "none"  # weights_sha256 of an export without heads (method "knn" only)


def onnx_card_path(onnx_file: Path) -> Path:
    return Path(onnx_file).with_suffix(".card.json")


def heads_graph_path(onnx_file: Path) -> Path:
    return Path(onnx_file).with_suffix(".heads.onnx")


class _FeaturesGraph(nn.Module):
    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(f.permute(0, 2, 3, 1) for f in self.backbone(image))


class _HeadsGraph(nn.Module):
    """The heads of every level as one module to trace: the torch engine's own inference code
    (ResADHeads.constrain, FusedFlow.log_prob), with the sparse selection written without branches."""

    def __init__(self, heads: ResADHeads):
        super().__init__()
        self.heads = heads
        self.fused = [heads._fused(lvl) for lvl in range(len(heads.config.channels))]

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        levels = len(self.fused)
        residuals, scale = inputs[:levels], inputs[levels]
        conds, at_zero = inputs[levels + 1 : 2 * levels + 1], inputs[2 * levels + 1 :]
        out = []
        for lvl in range(levels):
            c = self.heads.constrain(lvl, residuals[lvl] / scale[lvl])
            if self.fused[lvl].identity:  # the seeded start: the flow is x -> x (engine/flows.py)
                out.append(self.fused[lvl].identity_log_prob(c, dim=1))
                continue
            x = c.permute(0, 2, 3, 1).reshape(-1, c.shape[1])
            rows = (x.sum(1) > 0).nonzero().squeeze(1)  # after the ReLU: non-zero iff the sum is > 0
            grid_rows = rows % conds[lvl].shape[0]
            values = self.fused[lvl].log_prob(x.index_select(0, rows), conds[lvl].index_select(0, grid_rows))
            log_p = at_zero[lvl].repeat(c.shape[0]).scatter(0, rows, values)
            out.append(log_p.reshape(c.shape[0], c.shape[2], c.shape[3]))
        return tuple(out)


def heads_input_names(levels: int) -> list[str]:
    return ([f"residual{l}" for l in range(1, levels + 1)] + ["scale"]
            + [f"cond{l}" for l in range(1, levels + 1)] + [f"at_zero{l}" for l in range(1, levels + 1)])


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], axes: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(module, args, tmp, dynamo=False, opset_version=OPSET, input_names=inputs,
                              output_names=outputs, dynamic_axes=axes, do_constant_folding=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def export_graphs(out: str | os.PathLike, heads: ResADHeads | None, weights_card: dict | None,
                  input_size: int) -> dict:
    """Write the features graph to `out`, the heads graph (when there are heads) beside it as
    NAME.heads.onnx, and the card NAME.card.json; returns the card."""
    out = Path(out)
    if out.suffix != ".onnx":
        raise EngineError(f"ONNX export {out}: expected a file name ending in .onnx")
    if input_size < 64 or input_size % 32:
        raise EngineError(f"input_size: expected a multiple of 32 that is >= 64, got {input_size}")
    out.parent.mkdir(parents=True, exist_ok=True)
    levels = ("level1", "level2", "level3")
    batch = torch.rand(2, 3, input_size, input_size + 32)  # a non-square example: no axis is taken as fixed
    _export(_FeaturesGraph(load_backbone().eval()), (batch,), out, ["image"], list(levels),
            {"image": {0: "batch", 2: "height", 3: "width"},
             **{name: {0: "batch", 1: f"h{i}", 2: f"w{i}"} for i, name in enumerate(levels, 1)}})
    files = {"features": {"file": out.name, "sha256": sha256_file(out)}}
    weights_sha = NO_HEADS
    if heads is not None:
        weights_sha = (weights_card or {}).get("sha256", "untrained")
        heads = copy.deepcopy(heads)  # a CPU copy: the caller's heads stay on their device
        heads.clear_caches()
        heads = heads.to("cpu").eval()
        files["heads"] = _export_heads(heads, heads_graph_path(out), batch)
    card = {
        "engine_version": ENGINE_VERSION,
        "format": FORMAT,
        "backbone": BACKBONE_ID,
        "preprocess": PREPROCESS_ID,
        "input_size": int(input_size),
        "weights_sha256": weights_sha,
        "opset": OPSET,
        "exporter": f"torch.onnx TorchScript exporter, torch {torch.__version__.split('+')[0]}",
        "dynamic_axes": ["batch", "height", "width"],
        "files": files,
    }
    tmp = onnx_card_path(out).with_suffix(".tmp")
    tmp.write_text(json.dumps(card, indent=2, sort_keys=True))
    os.replace(tmp, onnx_card_path(out))
    return card


def _export_heads(heads: ResADHeads, path: Path, batch: torch.Tensor) -> dict:
    from engine.backbone import STRIDES

    n = len(heads.config.channels)
    with torch.no_grad():
        residuals, conds, zeros = [], [], []
        for lvl, (c, stride) in enumerate(zip(heads.config.channels, STRIDES)):
            h, w = batch.shape[2] // stride, batch.shape[3] // stride
            residuals.append(torch.randn(batch.shape[0], c, h, w))  # random: some positions pass the ReLU
            conds.append(heads._grid_cond(lvl, h, w, "cpu"))
            zeros.append(heads._log_p_at_zero(lvl, h, w, "cpu"))
    names = heads_input_names(n)
    axes = {f"residual{l}": {0: "batch", 2: f"h{l}", 3: f"w{l}"} for l in range(1, n + 1)}
    axes.update({f"{kind}{l}": {0: f"grid{l}"} for kind in ("cond", "at_zero") for l in range(1, n + 1)})
    axes.update({f"log_p{l}": {0: "batch", 1: f"h{l}", 2: f"w{l}"} for l in range(1, n + 1)})
    args = (*residuals, torch.ones(n), *conds, *zeros)
    _export(_HeadsGraph(heads), args, path, names, [f"log_p{l}" for l in range(1, n + 1)], axes)
    return {"file": path.name, "sha256": sha256_file(path)}
