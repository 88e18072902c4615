"""Where a frame found its nearest reference features: the "why" behind an anomaly map.

The NN search matches every position of the finest feature grid (stride 4 of the network input)
to one position of one reference shot. NearestShots keeps those matches (small int16 grids) with
the geometry to turn them into pixels: a point of the frame -> the same part of a shot.

A defect's own features match something arbitrary (nothing in the references looks like it), so
`reference_point` does not trust the hottest cell alone: the cells around it, mostly normal
context, vote for a shot and their median displacement says where that part of the shot is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEIGHBOURHOOD = 8  # cells (of 4 input px) on each side of a point whose matches vote (17 x 17 cells)


@dataclass(frozen=True)
class NearestShots:
    shot: np.ndarray  # (gh, gw) int16: index of the matched reference shot, per finest-grid cell
    y: np.ndarray  # (gh, gw) int16: row of the match in that shot's grid
    x: np.ndarray  # (gh, gw) int16: column
    region: tuple[int, int, int, int]  # (x, y, w, h) of the frame the grid covers (the ROI, or all of it)
    shot_grids: tuple[tuple[int, int], ...]  # each shot's finest grid (rows, columns)

    @classmethod
    def of(cls, match, j: int, prepared, refs) -> "NearestShots":
        """Frame j of a batch's finest-level Match (engine.nn_search), with its Prepared geometry."""
        h, w = prepared.original_shape
        region = prepared.roi if prepared.roi is not None else (0, 0, w, h)
        grids = tuple((int(m[0].shape[1]), int(m[0].shape[2])) for m in refs.maps)
        as16 = lambda t: t[j].to("cpu").numpy().astype(np.int16)  # noqa: E731
        return cls(as16(match.k), as16(match.y), as16(match.x), tuple(int(v) for v in region), grids)

    @property
    def grid(self) -> tuple[int, int]:
        return self.shot.shape[0], self.shot.shape[1]

    def cell(self, px: float, py: float) -> tuple[int, int]:
        """The grid cell (row, column) of frame pixel (px, py)."""
        rx, ry, rw, rh = self.region
        gh, gw = self.grid
        return (int(np.clip((py - ry) * gh / rh, 0, gh - 1)), int(np.clip((px - rx) * gw / rw, 0, gw - 1)))

    def reference_point(self, px: float, py: float, neighbourhood: int = NEIGHBOURHOOD) -> tuple[int, float, float]:
        """(shot, fx, fy): the shot the region around frame pixel (px, py) matched, and where in that
        shot (fractions 0..1 of its width and height) the same part lies."""
        gh, gw = self.grid
        row, col = self.cell(px, py)
        r0, r1 = max(0, row - neighbourhood), min(gh, row + neighbourhood + 1)
        c0, c1 = max(0, col - neighbourhood), min(gw, col + neighbourhood + 1)
        shots = self.shot[r0:r1, c0:c1]
        k = int(np.bincount(shots.ravel().astype(np.int64)).argmax())  # the shot most of the region matched
        rows, cols = np.nonzero(shots == k)
        sh, sw = self.shot_grids[k]
        # displacement (in fractions of the image) from each voting cell to its match
        dy = (self.y[r0:r1, c0:c1][rows, cols] + 0.5) / sh - (rows + r0 + 0.5) / gh
        dx = (self.x[r0:r1, c0:c1][rows, cols] + 0.5) / sw - (cols + c0 + 0.5) / gw
        rx, ry, rw, rh = self.region
        fy = (py - ry) / rh + float(np.median(dy))
        fx = (px - rx) / rw + float(np.median(dx))
        return k, float(np.clip(fx, 0.0, 1.0)), float(np.clip(fy, 0.0, 1.0))
