"""The offline ImageNet weights are mapped correctly onto timm's efficientnet_lite0."""

import cv2
import numpy as np
import skimage.data
import torch

from engine.backbone import CHANNELS, STRIDES, load_backbone, load_classifier
from engine.preprocess import prepare


def _classify(image: np.ndarray) -> int:
    model = load_classifier()
    x = prepare(cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA), 224).tensor[None]
    with torch.inference_mode():
        return int(model(x).argmax())


def test_chelsea_is_an_egyptian_cat():
    assert _classify(skimage.data.chelsea()) == 285


def test_coffee_is_espresso():
    assert _classify(skimage.data.coffee()) == 967


def test_feature_levels_have_the_documented_channels_and_strides():
    feats = load_backbone()(torch.zeros(1, 3, 256, 320))
    assert [f.shape[1] for f in feats] == list(CHANNELS)
    assert [(256 // f.shape[2], 320 // f.shape[3]) for f in feats] == [(s, s) for s in STRIDES]


def test_the_frozen_cpu_trunk_gives_the_eager_features_bit_for_bit_at_any_size():
    """What the CPU detector runs (a frozen graph traced at 256x256) on real photos of other
    sizes and batch sizes: the same features exactly, so no score or verdict moves."""
    from engine.backbone import frozen_for_cpu
    from engine.detector import Detector

    eager = load_backbone()
    frozen = frozen_for_cpu(eager)
    assert isinstance(frozen, torch.jit.ScriptModule)
    photos = [skimage.data.chelsea(), skimage.data.coffee(), skimage.data.astronaut()]
    for size, group in ((256, photos), (320, photos[:2]), (192, photos[2:])):
        batch = torch.stack([prepare(cv2.resize(p, (448, 256)), size).tensor for p in group])
        batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            want, got = eager(batch), frozen(batch)
        assert all(torch.equal(w, g) for w, g in zip(want, got)), size
    assert isinstance(Detector.load(method="knn", device="cpu")._cpu_trunk, torch.jit.ScriptModule)
