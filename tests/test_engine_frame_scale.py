"""Frames are read at the reference shots' scale (engine/preprocess.py), not each at its own size.

Where the shots and the frames share one size (a fixed camera) nothing changes; where crops vary
in size (magnetic_tile's tiles), a frame larger than the shots keeps its texture's scale instead
of being shrunk to the input size.
"""

import copy
import json

import numpy as np
import pytest
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from engine import Detector, ReferenceSet
from engine.errors import InputImageError
from engine.preprocess import input_shape, prepare
from tests.engine_images import brick_crops


@pytest.fixture(scope="module", params=["knn", "resad"])
def detector(request):
    return Detector.load(method=request.param, device="cpu", input_size=128)


def test_the_scale_of_shots_of_the_frame_size_is_the_frames_own():
    for h, w in ((480, 640), (192, 192), (1080, 1920), (127, 128)):
        assert input_shape(h, w, 256, short_side=min(h, w)) == input_shape(h, w, 256)
    assert input_shape(528, 400, 256, short_side=200) == (672, 512)  # scale 1.28: 675.8 -> 672
    assert input_shape(384, 384, 128, short_side=192) == (256, 256)


def test_shots_of_different_sizes_record_their_median_short_side_and_it_survives_storage(detector):
    shots = [brick_crops(1, size=s, seed=s)[0] for s in (160, 192, 224)]
    refs = detector.build_references(shots)
    assert refs.short_side == 192
    # every shot at the median's scale: 160 px -> 106.7 -> 96, 224 px -> 149 -> 160 on the 32 grid; level 1 has stride 4
    assert [tuple(m[0].shape[1:]) for m in refs.maps] == [(24, 24), (32, 32), (40, 40)]
    assert ReferenceSet.from_bytes(refs.to_bytes()).short_side == 192
    blob = refs.to_bytes()
    meta = json.loads(blob[8 : 8 + int.from_bytes(blob[:8], "little")])["__metadata__"]
    del meta["short_side"]  # a set stored before the scale was recorded
    assert ReferenceSet.from_bytes(st_save(st_load(blob), metadata=meta)).short_side is None


def test_a_frame_twice_the_shots_size_keeps_the_texture_scale_of_the_shots(detector):
    refs = detector.build_references(brick_crops(4, seed=3))
    assert refs.short_side == 192
    own_size = copy.copy(refs)
    own_size.short_side = None  # the old reading: every frame shrunk to the input size
    for frame in brick_crops(3, size=384, seed=5):
        at_shots = detector.predict(frame, refs)
        shrunk = detector.predict(frame, own_size)
        assert at_shots.grid_map.shape == (64, 64) and shrunk.grid_map.shape == (32, 32)
        assert at_shots.anomaly_map.shape == (384, 384)
        # good brick at the shots' scale looks like the shots; shrunk by 2 it does not
        assert float(at_shots.grid_map.mean()) < float(shrunk.grid_map.mean())


def test_a_frame_far_larger_than_the_shots_is_refused_naming_it():
    with pytest.raises(InputImageError, match="frame 7: 1200x900 px is far larger than the reference shots"):
        prepare(np.zeros((900, 1200, 3), np.uint8), 128, what="frame 7", short_side=64)
    det = Detector.load(method="knn", device="cpu", input_size=128)
    refs = det.build_references(brick_crops(3, size=64))
    with pytest.raises(InputImageError, match="frame 1: 512x512 px is far larger"):
        det.predict_batch([brick_crops(1, size=64)[0], np.zeros((512, 512, 3), np.uint8)], refs)
