"""End to end: data -> cached features -> training -> weights + model card."""

from __future__ import annotations

import platform
import time
from pathlib import Path

import torch

from engine.backbone import BACKBONE_ID, load_backbone
from engine.detector import Detector
from engine.preprocess import PREPROCESS_ID
from engine.training.feature_bank import FeatureExtractor, build_bank
from engine.training.bank_cache import load_banks, save_banks
from engine.training.sources import collect_sets
from engine.training.trainer import Trainer, TrainConfig
from engine.version import ENGINE_VERSION
from engine.weights import save_heads


def train_model(
    roots: list[str],
    out: str | Path,
    config: TrainConfig,
    extras: tuple[str, ...] = (),
    synthetic_per_good: int = 1,
    heldout_fraction: float = 0.25,
    progress: bool = True,
    command: str = "",
    cache_dir: str | Path | None = None,
    keep_checkpoints: bool = False,
) -> dict:
    """keep_checkpoints: also write the heads of every held-out check as OUT-stepN.safetensors (with
    a card), to study how transfer varies along training; the selected one is OUT itself."""
    torch.manual_seed(config.seed)
    started = time.time()
    extractor = FeatureExtractor(load_backbone(), config.input_size)
    banks = []
    for name, cats in collect_sets(roots, extras, heldout_fraction, config.seed).items():
        cached = None
        if cache_dir is not None:
            cached = Path(cache_dir) / (
                f"{name}-in{config.input_size}-{PREPROCESS_ID.replace('/', '-')}-seed{config.seed}"
                f"-syn{synthetic_per_good}-ho{heldout_fraction}.safetensors"
            )
        if cached is not None and cached.is_file():
            banks += load_banks(cached)
            continue
        new = build_bank(cats, extractor, synthetic_per_good, config.seed, progress)
        if cached is not None:
            save_banks(new, cached)
        banks += new
    cache_seconds = time.time() - started
    trainer = Trainer(banks, config, progress)
    detector = Detector(trainer.heads, {"sha256": "training"}, "cpu", config.input_size, "resad")
    trainer.heads.train()
    on_checkpoint = None
    if keep_checkpoints:
        def on_checkpoint(step, heads, metrics):
            path = Path(out).with_name(f"{Path(out).stem}-step{step}{Path(out).suffix}")
            save_heads(heads, path, {"model": "ResAD heads, a training checkpoint", "backbone": BACKBONE_ID,
                                     "engine_version": ENGINE_VERSION, "input_size": config.input_size,
                                     "preprocess": PREPROCESS_ID, "checkpoint_of": Path(out).name, "step": step,
                                     "selection_metrics": metrics, "command": command})
    heads, summary = trainer.fit(detector, on_checkpoint)
    data = {
        b.name: {
            "good": len(b.good),
            "real_anomalous": len(b.real),
            "synthetic_anomalous": len(b.synthetic),
            "heldout_good": len(b.heldout_good),
            "heldout_anomalous": len(b.heldout_anomalous),
        }
        for b in banks
    }
    card = {
        "model": "ResAD heads (constraintor + conditional flow per level)",
        "backbone": BACKBONE_ID,
        "engine_version": ENGINE_VERSION,
        "input_size": config.input_size,
        "preprocess": PREPROCESS_ID,
        "training_roots": [str(Path(r).resolve().name) for r in roots],
        "extras": list(extras),
        "data": data,
        "command": command,
        "seed": config.seed,
        "feature_cache_seconds": round(cache_seconds, 1),
        "machine": f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads",
        **summary,
    }
    return save_heads(heads, Path(out), card)
