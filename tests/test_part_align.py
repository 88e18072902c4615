"""Part alignment (engine/part_align.py): a part lying at any angle and place is turned to one pose.

The part: scikit-image's horse silhouette (an asymmetric real shape) filled with its brick texture,
darker than a plain light background, as a screw lies on a table.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
from engine_images import brick_rgb, with_defect

from engine import Detector
from engine.part_align import align_image, find_pose, to_frame

SIZE = 256


def _turn(angle: float, dx: float, dy: float) -> np.ndarray:
    m = cv2.getRotationMatrix2D(((SIZE - 1) / 2, (SIZE - 1) / 2), angle, 1.0)
    m[:, 2] += (dx, dy)
    return m


def part_on_table(angle: float, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    horse = cv2.resize((~skimage.data.horse()).astype(np.uint8), (120, 98), interpolation=cv2.INTER_NEAREST)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    y0, x0 = (SIZE - horse.shape[0]) // 2, (SIZE - horse.shape[1]) // 2
    mask[y0:y0 + horse.shape[0], x0:x0 + horse.shape[1]] = horse
    texture = brick_rgb()[:SIZE, :SIZE].astype(np.float32)
    part = (40 + 0.35 * texture).astype(np.uint8)
    m = _turn(angle, dx, dy)
    part = cv2.warpAffine(part, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(mask, m, (SIZE, SIZE), flags=cv2.INTER_NEAREST) > 0
    table = (200 + 0.04 * (brick_rgb()[-SIZE:, -SIZE:].astype(np.float32) - 128)).astype(np.uint8)
    return np.where(mask[:, :, None], part, table)


def _dark(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) < 128


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


POSES = [(0, 0, 0), (37, 18, -11), (125, -20, 14), (260, 9, 22)]


def test_turned_and_moved_copies_of_a_part_come_to_one_pose():
    images = [part_on_table(*p) for p in POSES]
    raw = [_dark(im) for im in images]
    aligned = [_dark(align_image(im, find_pose(im))) for im in images]
    for i in range(1, len(images)):
        assert _iou(raw[0], raw[i]) < 0.5  # as they lie, the copies barely overlap
        assert _iou(aligned[0], aligned[i]) > 0.9, POSES[i]  # turned, they coincide (head to the same side)




def test_a_blank_frame_or_a_texture_has_no_pose_and_is_not_turned():
    grey = np.full((SIZE, SIZE, 3), 128, np.uint8)
    assert find_pose(grey) is None
    grass = np.repeat(skimage.data.grass()[:SIZE, :SIZE, None], 3, axis=2)  # many regions, no one part
    assert find_pose(grass) is None
    assert find_pose(part_on_table(0)) is not None
    assert align_image(grey, None) is grey and to_frame(np.ones((4, 4), np.float32), None).shape == (4, 4)


def test_the_map_comes_back_to_the_frame_and_mirrored_cells_never_make_the_score():
    frame = part_on_table(*POSES[2])
    pose = find_pose(frame)
    grid = (SIZE // 4, SIZE // 4)
    # a point of the part in the frame, and where the turn puts it
    px, py = 150.0, 100.0
    qx, qy = pose.matrix @ np.array([px, py, 1.0])
    hot = np.zeros(grid, np.float32)
    hot[int(qy // 4), int(qx // 4)] = 10.0
    back = to_frame(hot, pose)
    row, col = np.unravel_index(np.argmax(back), back.shape)
    assert abs(row - py / 4) <= 1.5 and abs(col - px / 4) <= 1.5
    # at the seam with mirrored border (the turned image of the frame's edge) the blur mixes the
    # mirror's values into real cells: those are lowered, so the frame's edge never makes the score
    ex, ey = pose.matrix @ np.array([1.0, SIZE / 2, 1.0])
    seam = np.zeros(grid, np.float32)
    seam[int(ey // 4), int(ex // 4)] = 10.0
    assert float(to_frame(seam, pose).max()) == 0.0


@pytest.fixture(scope="module")
def detectors():
    return {a: Detector.load(method="knn", device="cpu", input_size=SIZE, align=a) for a in ("none", "part")}


def test_aligned_detection_sees_a_turned_good_part_as_good_and_finds_a_defect_where_it_is(detectors):
    shots = [part_on_table(*p) for p in POSES]
    good = part_on_table(200, -12, 6)
    defect_box = (112, 108, 30, 26)  # on the part, in the frame's coordinates
    defective, mask = with_defect(good, defect_box)
    scores = {}
    for align, det in detectors.items():
        refs = det.build_references(shots)
        g, d = det.predict(good, refs), det.predict(defective, refs)
        scores[align] = (g.score, d.score)
        if align == "part":
            assert g.nearest is None and g.anomaly_map.shape == good.shape[:2]
            ys, xs = np.nonzero(mask)
            row, col = np.unravel_index(np.argmax(d.anomaly_map), d.anomaly_map.shape)
            assert np.hypot(row - ys.mean(), col - xs.mean()) < 24  # the hottest pixel is on the defect
    assert scores["part"][1] > scores["part"][0]
    assert scores["part"][0] < scores["none"][0]  # turned to the shots' pose, the good part looks normal
    assert detectors["part"].score_id != detectors["none"].score_id  # other pools: other thresholds


def test_profiles_that_differ_in_align_or_augment_cannot_share_one_engine(tmp_path):
    from resad_station.profiles import load_profile
    from resad_station.runtime.multi_station import check_cameras
    from resad_station.runtime.station import StationError

    def profile(name: str, engine: str):
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"name: {name}\nproduct: {name}\ncamera: {{kind: folder, uri: images, name: {name}}}\n"
                        f"engine: {{{engine}}}\n")
        return load_profile(path)

    loose, fixtured = profile("loose", "align: part"), profile("fixtured", "align: none")
    with pytest.raises(StationError, match="engine.align: 'part' vs 'none'"):
        check_cameras([loose, fixtured])
    with pytest.raises(StationError, match="engine.augment: 'none' vs 'flips'"):
        check_cameras([fixtured, profile("turned", "augment: flips")])
    check_cameras([loose, profile("loose2", "align: part")])  # one set-up: one engine


def test_a_large_frame_is_turned_at_the_network_s_size_and_its_map_covers_the_whole_frame(detectors):
    """A frame four times the input size: shrunk before it is turned, the same verdict as the
    network-sized frame, and the map at the frame's full size."""
    det = detectors["part"]
    refs = det.build_references([part_on_table(*p) for p in POSES])
    good = part_on_table(200, -12, 6)
    large = cv2.resize(good, (4 * SIZE, 4 * SIZE), interpolation=cv2.INTER_CUBIC)
    small, big = det.predict(good, refs), det.predict(large, refs)
    assert big.anomaly_map.shape == (4 * SIZE, 4 * SIZE)
    assert abs(big.score - small.score) < 0.1 * abs(small.score) + 0.5


def test_shots_of_one_part_at_many_angles_are_a_loose_part_and_fixtured_or_textured_ones_are_not():
    from engine.part_align import loose_part

    assert loose_part([part_on_table(*p) for p in POSES])
    assert not loose_part([part_on_table(a, 3 * a, 0) for a in (0, 5, 10, 12)])  # fixtured: one angle
    assert not loose_part([brick_rgb()[y : y + SIZE, :SIZE] for y in (0, 40, 80, 120)])  # a texture
    blank = np.full((SIZE, SIZE, 3), 128, np.uint8)
    assert not loose_part([part_on_table(*p) for p in POSES[:3]] + [blank])  # one shot without the part


def test_the_self_test_suggests_alignment_for_a_loose_part_only_when_it_is_off(detectors):
    from engine import self_test

    shots = [part_on_table(*p) for p in POSES]
    hint = "engine.align: part turns shots and frames to one pose"
    for align, det in detectors.items():
        test = self_test.run(det, shots, det.build_references(shots))
        assert any(hint in w for w in test.warnings) == (align == "none"), (align, test.warnings)
