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
