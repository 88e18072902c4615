"""Trained head weights: safetensors plus a JSON model card that records the file's sha256.

Loading computes the file's hash and refuses a file whose hash differs from its card: a tampered
or truncated weights file never runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from safetensors.torch import load_file, save_file

from engine.errors import WeightsError
from engine.heads import HeadConfig, ResADHeads
from engine.preprocess import LEGACY_PREPROCESS_ID, PREPROCESS_ID

BUNDLED_WEIGHTS = Path(__file__).resolve().parent / "weights" / "resad_lite0.safetensors"


def card_path(weights: Path) -> Path:
    return weights.with_suffix(".card.json")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_heads(heads: ResADHeads, path: Path, card: dict) -> dict:
    """Write weights + card atomically; returns the card (with sha256 and config filled in)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in heads.state_dict().items()}
    meta = {"config": json.dumps(heads.config.to_dict())}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    save_file(state, tmp, metadata=meta)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; weights are meant to be shared
    os.replace(tmp, path)
    card = dict(card)
    card.setdefault("preprocess", PREPROCESS_ID)  # heads are trained on features of one resize filter
    card.update({"weights_file": path.name, "sha256": sha256_file(path), "config": heads.config.to_dict()})
    card_tmp = card_path(path).with_suffix(".tmp")
    card_tmp.write_text(json.dumps(card, indent=2, sort_keys=True))
    os.replace(card_tmp, card_path(path))
    return card


def load_heads(path: Path) -> tuple[ResADHeads, dict]:
    """Verify the hash against the card, then build the heads. Returns (heads, card)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path}: not found")
    cpath = card_path(path)
    if not cpath.is_file():
        raise WeightsError(f"weights file {path}: its model card {cpath.name} (with the sha256) is missing")
    try:
        card = json.loads(cpath.read_text())
        expected = card["sha256"]
    except (ValueError, KeyError) as exc:
        raise WeightsError(f"model card {cpath}: unreadable or without 'sha256' ({exc})") from exc
    actual = sha256_file(path)
    if actual != expected:
        raise WeightsError(
            f"weights file {path}: sha256 {actual[:16]}... does not match its model card "
            f"({expected[:16]}...); refusing a modified file"
        )
    trained_on = card.get("preprocess", LEGACY_PREPROCESS_ID)
    if trained_on != PREPROCESS_ID:
        raise WeightsError(
            f"weights file {path}: trained on features of preprocessing {trained_on!r}, this engine uses "
            f"{PREPROCESS_ID!r}; its scores would not mean what they meant: retrain it (resad-station train ...)"
        )
    try:
        state = load_file(str(path))
        config = HeadConfig.from_dict(card["config"])
        heads = ResADHeads(config)
        heads.load_state_dict(state, strict=True)
    except Exception as exc:  # safetensors / shape errors carry their own text
        raise WeightsError(f"weights file {path}: cannot be loaded into the ResAD heads ({exc})") from exc
    heads.eval()
    return heads, card
