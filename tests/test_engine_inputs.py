"""Every kind of bad input gets an error that says what was received; odd formats are converted."""

import numpy as np
import pytest

from engine import Detector, InputImageError
from engine.preprocess import input_shape, to_rgb_uint8
from tests.engine_images import brick_crops


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((0, 0, 3), np.uint8), "empty"),
        (np.zeros((20, 200, 3), np.uint8), "too small"),
        (np.full((64, 64, 3), np.nan, np.float32), "NaN"),
        ("frame.png", "type str"),
        (None, "type NoneType"),
        (np.zeros((64, 64, 5), np.uint8), "HxWx3"),
        (np.zeros((64, 64, 3), bool), "not an image"),
        (np.full((64, 64, 3), 3.0, np.float32), r"\[0, 1\]"),
    ],
)
def test_bad_inputs_raise_a_clear_error(bad, message):
    with pytest.raises(InputImageError, match=message):
        to_rgb_uint8(bad)


def test_gray_rgba_and_16_bit_are_converted_to_the_same_rgb():
    rgb = brick_crops(1)[0]
    gray = rgb[:, :, 0]
    rgba = np.dstack([rgb, np.full(gray.shape, 255, np.uint8)])
    wide = gray.astype(np.uint16) * 257
    for image in (gray, rgba, wide, gray[:, :, None]):
        assert np.array_equal(to_rgb_uint8(image), rgb)


def test_geometry_keeps_the_aspect_ratio_on_multiples_of_32():
    assert input_shape(480, 640, 256) == (256, 352)
    assert input_shape(640, 640, 256) == (256, 256)
    h, w = input_shape(1080, 1920, 256)
    assert h == 256 and w % 32 == 0 and abs(w / h - 1920 / 1080) < 0.1


def test_the_detector_names_the_frame_that_was_bad():
    det = Detector.load(method="knn", device="cpu", input_size=128)
    refs = det.build_references(brick_crops(3))
    with pytest.raises(InputImageError, match="frame 1"):
        det.predict_batch([brick_crops(1)[0], np.zeros((10, 10, 3), np.uint8)], refs)
