"""Where a frame looks wrong, and which part of which reference shot it was compared with there.

The point is the anomaly map's maximum (or a point the user clicked). The engine's NN matches
(engine.nearest.NearestShots) give the shot and the place in it: the same part of the board
on a fixtured line, a few pixels away when the part sits differently. Both regions are squares
of the same size, a fifth of the frame's short side (at least MIN_SIDE px).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_SIDE = 48
CROP_MAX_SIDE = 160  # stored crops are small: they are for the eye, the full frame is stored anyway

Box = tuple[int, int, int, int]  # x, y, w, h in pixels


@dataclass(frozen=True)
class Why:
    shot: int  # index of the reference shot (0-based; shown 1-based)
    region: Box  # in the frame
    ref_region: Box  # in the shot
    point: tuple[int, int]  # (x, y) in the frame: the hottest (or clicked) point
    ref_point: tuple[int, int]  # (x, y) in the shot: the same part
    shot_name: str = ""

    def caption(self) -> str:
        return why_caption(self.shot, self.shot_name)

    def to_dict(self) -> dict[str, Any]:
        return {"shot": self.shot, "shot_name": self.shot_name, "region": list(self.region),
                "ref_region": list(self.ref_region), "point": list(self.point), "ref_point": list(self.ref_point)}


def why_caption(shot: int, shot_name: str = "") -> str:
    name = f" ({shot_name.replace(chr(92), '/').rsplit('/', 1)[-1]})" if shot_name else ""  # the file's name, not its folder
    return f"this region, against this part of reference shot {shot + 1}{name}"


def hottest_point(anomaly_map: np.ndarray, frame_shape: tuple[int, ...] | None = None) -> tuple[int, int]:
    """(x, y) of the anomaly map's maximum (NaN-safe), in the frame's pixels: a map at the engine's
    grid covers the whole frame, so its cell centre is scaled to `frame_shape` (default: the map's own)."""
    flat = np.nan_to_num(np.asarray(anomaly_map, dtype=np.float32), nan=-np.inf).argmax()
    h, w = anomaly_map.shape[:2]
    y, x = np.unravel_index(int(flat), (h, w))
    if frame_shape is None or tuple(frame_shape[:2]) == (h, w):
        return int(x), int(y)
    height, width = frame_shape[:2]
    return (min(width - 1, int((x + 0.5) * width / w)), min(height - 1, int((y + 0.5) * height / h)))


def _square(cx: float, cy: float, side: int, width: int, height: int) -> Box:
    side = min(side, width, height)
    x = int(round(np.clip(cx - side / 2, 0, width - side)))
    y = int(round(np.clip(cy - side / 2, 0, height - side)))
    return x, y, side, side


def region_side(frame_shape: tuple[int, ...]) -> int:
    return max(MIN_SIDE, min(frame_shape[:2]) // 5)


def explain(frame_shape: tuple[int, ...], anomaly_map: np.ndarray, nearest: Any, shot_shapes: list[tuple[int, int]],
            at: tuple[float, float] | None = None, shot_names: list[str] | None = None) -> Why:
    """The why of a frame: `at` (x, y) or the map's hottest point, and the same part of its matched shot.

    shot_shapes: (height, width) of each reference shot image, in the reference set's order.
    """
    height, width = frame_shape[:2]
    px, py = at if at is not None else hottest_point(anomaly_map, frame_shape)
    k, fx, fy = nearest.reference_point(float(px), float(py))
    sh, sw = shot_shapes[k][:2]
    side = region_side(frame_shape)
    ref_side = max(1, int(round(side * min(sh, sw) / min(height, width))))
    rx, ry = fx * sw, fy * sh
    return Why(shot=k, region=_square(px, py, side, width, height), ref_region=_square(rx, ry, ref_side, sw, sh),
               point=(int(px), int(py)), ref_point=(int(round(rx)), int(round(ry))),
               shot_name=(shot_names[k] if shot_names and k < len(shot_names) else ""))


def _crop(image: np.ndarray, box: Box) -> np.ndarray:
    x, y, w, h = box
    crop = image[y : y + h, x : x + w]
    step = max(1, int(np.ceil(max(crop.shape[:2]) / CROP_MAX_SIDE)))
    if step > 1:
        import cv2

        crop = cv2.resize(crop, (max(1, crop.shape[1] // step), max(1, crop.shape[0] // step)), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(crop)


def why_crops(frame: np.ndarray, shot: np.ndarray, why: Why) -> tuple[np.ndarray, np.ndarray]:
    """The two small pictures: the frame's region and the shot's part (at most CROP_MAX_SIDE px)."""
    return _crop(frame, why.region), _crop(shot, why.ref_region)
