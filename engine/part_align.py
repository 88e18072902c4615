"""Part alignment (`align="part"`): one part lying at any angle and place on a plain background is
turned and moved to one pose before inspection, the shots and every frame alike.

Nearest-neighbour matching compares a frame's patches with the shots' patches at about the same
place (the guided search) and in the same orientation (the backbone is not rotation invariant).
A screw that lies at another angle than every shot then looks abnormal everywhere. Turning each
image so that its part lies one way makes the shots and the frame comparable again.

The pose: the part is the largest connected region of the Otsu threshold of the blurred grey
image, taking the smaller side (a dark part on a light background and a light part on a dark one
both work). Its centroid moves to the image centre and its principal axis turns to horizontal;
the sign of the third moment along the axis (which end carries more of the part, a screw's head)
chooses between the two turns that do that. The turned image keeps the frame's size; what the
turn brings in from outside the frame is a mirror of the frame's border. An image without one
clear part (see ONE_PART_SHARE) is not turned: a blank frame, most textures and boards.

The anomaly map comes back to the frame's coordinates with the inverse turn, so the mirrored
border drops out of it. The cells within SEAM_CELLS of that border are set to the lowest value
of the cells that show the frame first: the blur mixes the mirror's seam into them, and a seam is
not a defect of the part (a defect within 8 input pixels of the frame's edge is lowered with them).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.errors import EngineError
from engine.preprocess import Prepared, crop_roi, input_shape, prepare, to_rgb_uint8

ALIGN_MODES = ("none", "part", "auto")  # auto: "part" for a reference set whose shots are a loose part
ALIGN_AUTO = "auto"
SET_ALIGNS = ("none", "part")  # how one reference set is turned (ReferenceSet.align)
POSE_SIDE = 256  # the pose is found on a copy of at most this many pixels on its long side
# What counts as one clear part: its region holds at least ONE_PART_SHARE of the threshold's smaller
# side (a texture or a board splits into many regions) and at least MIN_PART_SHARE of the image (a
# speck is not a part). Set by looking at the images here, not at scores: every MVTec screw passes
# (one region, 13-17 % of the image); blank frames and most sheets and boards do not, but about one
# magnetic-tile image in seven does. It guards the images of a loose-part product that show no
# part; it is no detector of whether a product is one.
ONE_PART_SHARE = 0.95
LOOSE_SPREAD = 30.0  # degrees between two shots' parts that make a product a loose part (loose_part)
EDGE_SHARE = 0.08  # MVTec screws touch at most 4.2 % of the frame's edge; brick mortar 26-38 %
MIN_PART_SHARE = 0.06
SEAM_CELLS = 2  # map cells next to mirrored border that do not count either (the blur reaches them)


def check_align(mode: str) -> str:
    if mode not in ALIGN_MODES:
        raise EngineError(f"align: expected one of {ALIGN_MODES}, got {mode!r}")
    return mode


def align_key(align: str) -> str:
    """What a turn adds to a reference set's statistics keys (engine/detector_stats.py)."""
    return "" if align == "none" else f"~align-{align}"


def resolve_align(mode: str, shots) -> str:
    """What a reference set built from `shots` is aligned with: the mode itself, or under "auto"
    "part" when the shots are a loose part (loose_part) and "none" otherwise."""
    if mode != ALIGN_AUTO:
        return mode
    return "part" if loose_part(shots) else "none"


@dataclass(frozen=True)
class PartPose:
    """How one image was turned: `matrix` (2 x 3) takes a pixel of the image to the aligned image."""

    matrix: np.ndarray
    shape: tuple[int, int]  # (H, W) of the image, and of its aligned copy


def _part_region(rgb: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The one clear part's pixels (a mask at most POSE_SIDE on its long side) and that mask's
    scale against the image, or None without a clear part."""
    h, w = rgb.shape[:2]
    scale = min(1.0, POSE_SIDE / max(h, w))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        grey = cv2.resize(grey, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    grey = cv2.GaussianBlur(grey, (5, 5), 0)
    if int(grey.max()) - int(grey.min()) < 8:  # a blank frame has no part to turn
        return None
    _, part = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if np.count_nonzero(part) > part.size / 2:
        part = 255 - part
    n, labels, stats, _ = cv2.connectedComponentsWithStats(part)
    if n < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    area = int(stats[largest, cv2.CC_STAT_AREA])
    if area < MIN_PART_SHARE * part.size or area < ONE_PART_SHARE * np.count_nonzero(part):
        return None  # no one clear part: the image is left as it is
    return labels == largest, scale


def find_pose(rgb: np.ndarray) -> PartPose | None:
    """The turn that puts the image's part in the standard pose, or None without a clear part."""
    region = _part_region(rgb)
    return None if region is None else _pose(*region, rgb.shape[:2])


def _pose(mask: np.ndarray, scale: float, shape: tuple[int, int]) -> PartPose:
    h, w = shape
    ys, xs = np.nonzero(mask)
    xs = (xs + 0.5) / scale - 0.5  # back to full-size pixel coordinates
    ys = (ys + 0.5) / scale - 0.5
    cx, cy = float(xs.mean()), float(ys.mean())
    _, vectors = np.linalg.eigh(np.cov(np.stack([xs - cx, ys - cy])))
    axis = vectors[:, 1]  # the principal axis (largest eigenvalue)
    angle = float(np.degrees(np.arctan2(axis[1], axis[0])))
    along = (xs - cx) * axis[0] + (ys - cy) * axis[1]
    if float(np.mean(along ** 3)) > 0:  # the heavier end always to the same side
        angle += 180.0
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    matrix[0, 2] += (w - 1) / 2 - cx
    matrix[1, 2] += (h - 1) / 2 - cy
    return PartPose(matrix, (h, w))


def pose_angle(pose: PartPose) -> float:
    """The turn of a pose, in degrees."""
    return float(np.degrees(np.arctan2(pose.matrix[0, 1], pose.matrix[0, 0])))


def loose_part(images) -> bool:
    """True when every image shows one clear part, wholly in view (not _spans_the_frame), and the
    parts lie at clearly different angles (LOOSE_SPREAD): what `align: part` is for, as a screw on
    a table, and not a fixtured part, a board or a texture. Under `align: auto` it decides, per
    reference set; under `none` it is a hint at enrollment (docs/engine.md gives how often it fires
    on each dataset)."""
    angles = []
    for image in images:
        rgb = to_rgb_uint8(image, "shot")
        region = _part_region(rgb)
        if region is None or _spans_the_frame(region[0]):
            return False
        angles.append(pose_angle(_pose(*region, rgb.shape[:2])))
    apart = [abs((a - b + 180.0) % 360.0 - 180.0) for i, a in enumerate(angles) for b in angles[i + 1 :]]
    return bool(apart) and max(apart) >= LOOSE_SPREAD


def _spans_the_frame(mask: np.ndarray) -> bool:
    """The region meets two or more sides of the frame, or over EDGE_SHARE of its edge: a net of
    mortar, traces or texture, not a part lying in view (a screw's tip may touch one side)."""
    edges = (mask[0], mask[-1], mask[:, 0], mask[:, -1])
    return sum(bool(e.any()) for e in edges) > 1 or float(np.concatenate(edges).mean()) > EDGE_SHARE


def network_sized(rgb: np.ndarray, input_size: int) -> np.ndarray:
    """A larger image shrunk (area filter) to the network's input shape, which is turned instead of
    the full frame; a smaller one as it is (the network's preprocessing enlarges it)."""
    h, w = input_shape(rgb.shape[0], rgb.shape[1], input_size)
    if h >= rgb.shape[0]:
        return rgb
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)


def align_image(rgb: np.ndarray, pose: PartPose | None) -> np.ndarray:
    if pose is None:
        return rgb
    h, w = pose.shape
    return cv2.warpAffine(rgb, pose.matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _grid_matrix(pose: PartPose, grid: tuple[int, int]) -> np.ndarray:
    """The pose's turn in the coordinates of a map grid covering the image (cell centres)."""
    h, w = pose.shape
    gh, gw = grid
    sx, sy = gw / w, gh / h
    to_grid = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])
    turn = np.vstack([pose.matrix, [0.0, 0.0, 1.0]])
    return (to_grid @ turn @ np.linalg.inv(to_grid))[:2]


def to_frame(grid_map: np.ndarray, pose: PartPose | None) -> np.ndarray:
    """A map on the aligned image's grid -> the same map on the frame's grid, the cells at the seam
    with mirrored border lowered to the lowest real cell first (so they never make the score)."""
    if pose is None:
        return grid_map
    gh, gw = grid_map.shape
    m = _grid_matrix(pose, (gh, gw))
    real = cv2.warpAffine(np.ones((gh, gw), np.uint8), m, (gw, gh), flags=cv2.INTER_NEAREST, borderValue=0)
    real = cv2.erode(real, np.ones((2 * SEAM_CELLS + 1, 2 * SEAM_CELLS + 1), np.uint8), borderValue=1) > 0
    if not real.any():
        return grid_map
    out = np.array(grid_map, dtype=np.float32, copy=True)
    low = float(out[real].min())
    out[~real] = low
    return cv2.warpAffine(out, m, (gw, gh), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=low)


def prepare_aligned(image, input_size: int, roi, what: str, short_side: int | None,
                    align: str) -> tuple[Prepared, PartPose | None]:
    """The network input of one image (its ROI cut first) at the scale of shots of that short side
    (engine/preprocess.py), or under align "part" turned to the part's pose (network-sized first),
    with the pose that turned it (None: not turned)."""
    if align == "none":
        return prepare(image, input_size, roi, what=what, short_side=short_side), None
    rgb = to_rgb_uint8(image, what)
    crop = network_sized(crop_roi(rgb, roi), input_size)  # turning 5 MP at full size took ~0.1 s
    pose = find_pose(crop)
    tensor = prepare(align_image(crop, pose), input_size, None, what=what).tensor
    return Prepared(tensor, rgb.shape[:2], None if roi is None else tuple(int(v) for v in roi)), pose
