"""Extra good-image sets for training: deterministic crops of bundled images, one category each."""

import numpy as np
import pytest

from engine.training.sources import SURFACES, TEXTURES, collect_sets


def test_extras_give_one_category_per_image_with_deterministic_rgb_crops():
    sets = collect_sets([], extras=("textures", "surfaces"), seed=3, texture_crops=4)
    assert [c.name for c in sets["extra-textures"]] == [f"texture_{n}" for n in TEXTURES]
    assert [c.name for c in sets["extra-surfaces"]] == [f"surface_{n}" for n in SURFACES]
    again = collect_sets([], extras=("surfaces",), seed=3, texture_crops=4)
    for cat, same in zip(sets["extra-surfaces"], again["extra-surfaces"]):
        assert len(cat.good) == 4 and not cat.anomalous  # good images only: anomalies are synthesised
        crops = [load() for load in cat.good]
        for crop, twin in zip(crops, (load() for load in same.good)):
            assert crop.dtype == np.uint8 and crop.ndim == 3 and crop.shape[2] == 3
            assert crop.shape[0] == crop.shape[1] >= 32  # square, and large enough for the engine
            assert np.array_equal(crop, twin)  # same seed, same crops: feature caches stay valid
        assert len({c.tobytes() for c in crops}) == 4  # different places of the image


def test_an_unknown_extra_is_named_in_the_error():
    with pytest.raises(ValueError, match="'photos'.*textures"):
        collect_sets([], extras=("photos",))
