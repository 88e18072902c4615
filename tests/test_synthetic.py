"""Synthetic anomalies: deterministic, masks sane, the image changes inside the mask only."""

import numpy as np
import pytest
import skimage.data

from engine.errors import InputImageError
from engine.training.synthetic import (
    KINDS,
    MAX_FRACTION,
    MIN_FRACTION,
    fractal_perlin_noise,
    make_synthetic_anomaly,
    perlin_noise,
    synthesize,
)


def _rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[:, :, None], 3, axis=2)


IMAGES = {
    "colour": skimage.data.coffee()[:256, :320],  # non-square
    "gray": _rgb(skimage.data.camera()[::2, ::2]),
    "uniform": np.full((200, 240, 3), 255, np.uint8),  # nothing to cut-paste from
}


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_masks_and_changes_only_its_region(name, kind):
    image = IMAGES[name]
    original = image.copy()
    for seed in range(6):
        result = synthesize(image, np.random.default_rng(seed), kind)
        assert result.kind == kind
        assert result.image.shape == image.shape and result.image.dtype == np.uint8
        assert result.mask.shape == image.shape[:2] and result.mask.dtype == bool
        fraction = result.mask.mean()
        assert MIN_FRACTION * 0.9 <= fraction <= MAX_FRACTION, (kind, seed, fraction)
        diff = np.abs(result.image.astype(np.int16) - image.astype(np.int16)).max(axis=2)
        assert diff[result.mask].mean() >= 10, "the anomaly must be visible inside its mask"
        # Outside the mask only anti-aliased stroke borders may change, and barely.
        assert (diff[~result.mask] > 0).mean() < 0.03
        assert diff[~result.mask].mean() < 1.0
    np.testing.assert_array_equal(image, original)  # the input is never modified


def test_deterministic_for_a_seed_and_different_across_seeds():
    image = IMAGES["colour"]
    a_img, a_mask = make_synthetic_anomaly(image, np.random.default_rng(7))
    b_img, b_mask = make_synthetic_anomaly(image, np.random.default_rng(7))
    np.testing.assert_array_equal(a_img, b_img)
    np.testing.assert_array_equal(a_mask, b_mask)
    c_img, c_mask = make_synthetic_anomaly(image, np.random.default_rng(8))
    assert not np.array_equal(a_mask, c_mask)


def test_random_choice_produces_every_kind():
    image = IMAGES["gray"]
    rng = np.random.default_rng(0)
    kinds = {synthesize(image, rng).kind for _ in range(30)}
    assert kinds == set(KINDS)


def test_gray_images_get_gray_anomalies():
    image = IMAGES["gray"]
    for seed in range(5):
        out = synthesize(image, np.random.default_rng(seed), "perlin_texture").image
        assert np.array_equal(out[:, :, 0], out[:, :, 1]) and np.array_equal(out[:, :, 1], out[:, :, 2])


def test_perlin_noise_is_smooth_deterministic_and_any_shape():
    a = perlin_noise((256, 256), (8, 8), np.random.default_rng(1))
    b = perlin_noise((256, 256), (8, 8), np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and np.abs(a).max() <= 1.0 and a.std() > 0.05
    # Gradient noise: zero at lattice points, and neighbouring pixels close to each other.
    assert np.abs(a[::32, ::32]).max() < 1e-6
    assert np.abs(np.diff(a, axis=1)).max() < 0.1
    odd = fractal_perlin_noise((97, 203), (3, 5), np.random.default_rng(2), octaves=3)
    assert odd.shape == (97, 203) and np.isfinite(odd).all()


def test_bad_input_is_refused_with_what_was_received():
    with pytest.raises(InputImageError, match="float64"):
        make_synthetic_anomaly(np.zeros((64, 64, 3)), np.random.default_rng(0))
    with pytest.raises(InputImageError, match="too small"):
        make_synthetic_anomaly(np.zeros((4, 64, 3), np.uint8), np.random.default_rng(0))
    with pytest.raises(ValueError, match="kind"):
        synthesize(IMAGES["gray"], np.random.default_rng(0), "smudge")
