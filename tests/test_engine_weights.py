"""Weights are loaded only when their sha256 matches the model card."""

import json

import pytest
import torch

from engine import Detector, WeightsError
from engine.heads import HeadConfig, ResADHeads
from engine.weights import BUNDLED_WEIGHTS, card_path, load_heads, save_heads


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "w.safetensors"
    save_heads(ResADHeads(HeadConfig(seed=1)), path, {"note": "test"})
    return path


def test_saved_weights_load_with_the_same_tensors(saved):
    heads, card = load_heads(saved)
    original = ResADHeads(HeadConfig(seed=1)).state_dict()
    assert all((heads.state_dict()[k] == v).all() for k, v in original.items())
    assert card["note"] == "test" and len(card["sha256"]) == 64


def test_a_tampered_weights_file_is_refused(saved):
    data = bytearray(saved.read_bytes())
    data[-3] ^= 0x01
    saved.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="does not match its model card"):
        load_heads(saved)


def test_weights_without_a_card_are_refused(saved):
    card_path(saved).unlink()
    with pytest.raises(WeightsError, match="model card"):
        Detector.load(saved)


def test_a_card_without_a_hash_is_refused(saved):
    card_path(saved).write_text(json.dumps({"note": "no hash"}))
    with pytest.raises(WeightsError, match="sha256"):
        load_heads(saved)


def test_the_bundled_model_loads_and_has_its_card():
    heads, card = load_heads(BUNDLED_WEIGHTS)
    assert card["backbone"].startswith("efficientnet_lite0")
    assert card["seed"] == 0 and card["transfer_protocol"]["these_weights_measured"]


def test_the_bundled_heads_are_the_seeded_start_the_protocol_measured():
    """The card says the bundled heads are the protocol's winner, untrained heads (0 steps): that
    holds only while they equal a freshly seeded model of the card's config, tensor for tensor."""
    heads, card = load_heads(BUNDLED_WEIGHTS)
    assert card["best_step"] == 0 and card["train_seconds"] == 0.0 and card["selected_on"].startswith("no selection")
    fresh = ResADHeads(HeadConfig.from_dict(card["config"])).state_dict()
    loaded = heads.state_dict()
    assert loaded.keys() == fresh.keys()
    assert all(torch.equal(loaded[k], v) for k, v in fresh.items())


def test_heads_trained_on_another_resize_filter_are_refused(saved):
    """A card from before the preprocessing was recorded means INTER_AREA features: such heads
    score this engine's features differently, so they are refused with both filters named."""
    from engine.preprocess import PREPROCESS_ID

    card = json.loads(card_path(saved).read_text())
    assert card["preprocess"] == PREPROCESS_ID
    del card["preprocess"]
    card_path(saved).write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="cv2-inter-area.*bilinear-antialias.*retrain"):
        load_heads(saved)
