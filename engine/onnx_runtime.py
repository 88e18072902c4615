"""The ONNX engine: the Detector's backbone and heads run as exported graphs in ONNX Runtime.

What runs where (engine/onnx_export.py has the graphs): the features graph and the heads graph in
ONNX Runtime; preprocessing, the nearest-neighbour search, the per-grid flow conditions, the
standardisation and smoothing of the maps in torch/numpy, exactly as in the torch engine.

A graph is loaded only when its card names this engine version, backbone, preprocessing, input
size and head weights, and every file's sha256 matches the card: a modified graph never runs.
Without an exported file the graphs are exported once into a cache folder keyed by the weights'
hash, input size, opset and engine version (`runtime_graphs`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from engine.backbone import BACKBONE_ID
from engine.errors import EngineError, WeightsError
from engine.onnx_export import FORMAT, NO_HEADS, OPSET, export_graphs, heads_input_names, onnx_card_path
from engine.preprocess import PREPROCESS_ID
from engine.version import ENGINE_VERSION
from engine.weights import sha256_file

RUNTIMES = ("torch", "onnxruntime")
CACHE_GRAPH = "resad.onnx"  # file name of the features graph inside a cache entry
log = logging.getLogger(__name__)


def _import_ort():
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EngineError("engine.runtime 'onnxruntime': the package 'onnxruntime' is not installed") from exc
    return onnxruntime


def providers_for(device: torch.device) -> list[str]:
    """ONNX Runtime's CUDA provider where the detector runs on a GPU and this ORT build has it, else its CPU one."""
    available = _import_ort().get_available_providers()
    if device.type == "cuda" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device.type == "cuda":
        log.warning("engine.runtime onnxruntime on device cuda: this onnxruntime build has no CUDA provider, "
                    "the graphs run on the CPU (install onnxruntime-gpu for the GPU)")
    return ["CPUExecutionProvider"]


def read_card(onnx_file: Path) -> dict:
    cpath = onnx_card_path(onnx_file)
    if not Path(onnx_file).is_file():
        raise WeightsError(f"ONNX file {onnx_file}: not found")
    if not cpath.is_file():
        raise WeightsError(f"ONNX file {onnx_file}: its card {cpath.name} (with the sha256) is missing")
    try:
        card = json.loads(cpath.read_text())
        files = card["files"]
        ok = "features" in files and all(isinstance(e["file"], str) and isinstance(e["sha256"], str)
                                         for e in files.values())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        ok, card = False, {"error": exc}
    if not ok:
        raise WeightsError(f"ONNX card {cpath}: unreadable, or not a file name and sha256 for each graph "
                           "(files.features at least)")
    return card


def check_card(onnx_file: Path, card: dict, weights_sha256: str, input_size: int) -> None:
    """Refuse graphs made for another engine, backbone, input size or head weights, or modified since."""
    expected = {"engine_version": ENGINE_VERSION, "format": FORMAT, "backbone": BACKBONE_ID, "preprocess": PREPROCESS_ID,
                "input_size": int(input_size), "weights_sha256": weights_sha256}
    for field, want in expected.items():
        if card.get(field) != want:
            raise WeightsError(f"ONNX file {onnx_file}: its card says {field} {card.get(field)!r}, this detector "
                               f"has {want!r}; export it again (resad-station export --onnx ...)")
    for role, entry in card["files"].items():
        if Path(entry["file"]).name != entry["file"]:
            raise WeightsError(f"ONNX card {onnx_card_path(onnx_file)}: files.{role}.file must be a file name beside "
                               f"it, got {entry['file']!r}")
        path = Path(onnx_file).parent / entry["file"]
        if not path.is_file():
            raise WeightsError(f"ONNX file {path} ({role} graph named by {onnx_card_path(onnx_file).name}): not found")
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise WeightsError(f"ONNX file {path}: sha256 {actual[:16]}... does not match its card "
                               f"({entry['sha256'][:16]}...); refusing a modified file")


class OnnxGraphs:
    """The loaded sessions; `features` and `heads_for` are the Detector's two seams."""

    def __init__(self, onnx_file: str | os.PathLike, heads, weights_sha256: str, input_size: int,
                 device: torch.device):
        ort = _import_ort()
        self.path = Path(onnx_file)
        self.card = read_card(self.path)
        check_card(self.path, self.card, weights_sha256, input_size)
        self.device = device
        self.providers = providers_for(device)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the same CPU share as the torch engine
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # ORT's own notes (e.g. unused initializers) are not the user's business
        # no spinning between runs: torch's search and checks run next on the same cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        folder = self.path.parent
        self.features_session = self._session(ort, folder / self.card["files"]["features"]["file"], options)
        self.heads = heads
        self.heads_session = None
        if heads is not None:
            if "heads" not in self.card["files"]:
                raise WeightsError(f"ONNX file {self.path}: exported without heads, but the detector has head weights")
            self.heads_session = self._session(ort, folder / self.card["files"]["heads"]["file"], options)
            # an identity flow's level needs no condition biases, so its graph has no such inputs
            graph_inputs = {i.name for i in self.heads_session.get_inputs()}
            self.heads_inputs = [n if n in graph_inputs else None for n in heads_input_names(len(heads.config.channels))]

    def _session(self, ort, path: Path, options):
        try:
            return ort.InferenceSession(str(path), options, providers=self.providers)
        except Exception as exc:  # ORT's own error types; its text says what is wrong with the graph
            raise WeightsError(f"ONNX file {path}: ONNX Runtime cannot load it ({exc})") from exc

    def features(self, batch: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) -> per level (B, C, H_l, W_l), channels-last as torch's backbone gives them, on the
        detector's device."""
        image = batch.detach().to("cpu", torch.float32).contiguous().numpy()
        return [torch.from_numpy(f).permute(0, 3, 1, 2).to(self.device)
                for f in self.features_session.run(None, {"image": image})]

    def heads_for(self, heads):
        """What the methods call as the heads: this session, when `heads` are the ones it was exported from."""
        if heads is None:
            return None
        if heads is not self.heads:
            raise EngineError("engine.runtime onnxruntime: the detector's heads were replaced after the graphs were "
                              "loaded; the exported heads graph no longer matches them (use runtime torch to train)")
        return _SessionHeads(self)


class _SessionHeads:
    """ResADHeads as the methods see them, with `residual_log_prob` run by the heads graph. Anything
    else (config, constrain, ...) is the torch heads' own."""

    def __init__(self, graphs: OnnxGraphs):
        self._graphs = graphs

    def __getattr__(self, name):
        return getattr(self._graphs.heads, name)

    def residual_log_prob(self, residuals: list[torch.Tensor], scale: torch.Tensor | None = None) -> list[torch.Tensor]:
        g, heads = self._graphs, self._graphs.heads
        device = heads.constraintors[0][0].weight.device
        arrays = [r.detach().to("cpu", torch.float32).contiguous().numpy() for r in residuals]
        # per grid size, cached by the heads: the flows' condition biases and their value at 0
        conds = [heads._grid_cond(l, a.shape[2], a.shape[3], device).cpu().numpy() for l, a in enumerate(arrays)]
        zeros = [heads._log_p_at_zero(l, a.shape[2], a.shape[3], device).cpu().numpy() for l, a in enumerate(arrays)]
        scale_arr = (np.ones(len(arrays), np.float32) if scale is None
                     else scale.detach().to("cpu", torch.float32).numpy())
        feeds = {n: a for n, a in zip(g.heads_inputs, [*arrays, scale_arr, *conds, *zeros]) if n is not None}
        return [torch.from_numpy(m).to(residuals[0].device) for m in g.heads_session.run(None, feeds)]


def cache_entry(cache_dir: str | os.PathLike, weights_sha256: str, input_size: int) -> Path:
    """The features graph's path in the cache for these weights, input size, opset and engine version."""
    key = f"{weights_sha256[:16]}-{int(input_size)}px-opset{OPSET}-engine{ENGINE_VERSION}-{FORMAT.split(':')[0].replace('/', '')}"
    return Path(cache_dir) / key / CACHE_GRAPH


def runtime_graphs(onnx_file, cache_dir, heads, card: dict | None, input_size: int, device: torch.device) -> OnnxGraphs:
    """The graphs of `onnx_file`, or of the cache (exported there first when missing)."""
    weights_sha = NO_HEADS if heads is None else (card or {}).get("sha256", "untrained")
    if onnx_file is not None:
        return OnnxGraphs(onnx_file, heads, weights_sha, input_size, device)
    if cache_dir is None:
        raise EngineError("engine.runtime onnxruntime: give an exported ONNX file (engine.onnx) or a cache folder")
    target = cache_entry(cache_dir, weights_sha, input_size)
    if not onnx_card_path(target).is_file():
        _export_into_cache(target, heads, card, input_size)
    return OnnxGraphs(target, heads, weights_sha, input_size, device)


def _export_into_cache(target: Path, heads, card, input_size: int) -> None:
    """Export into a fresh folder beside the entry, then rename it into place: two processes
    exporting at once both end with a whole entry (the second one's rename finds it there)."""
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    log.info("exporting the engine's ONNX graphs into %s (once for these weights and input size)", target.parent)
    staging = Path(tempfile.mkdtemp(dir=target.parent.parent, prefix=".export-"))
    try:
        export_graphs(staging / target.name, heads, card, input_size)
        try:
            os.rename(staging, target.parent)
        except OSError:
            if not onnx_card_path(target).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
