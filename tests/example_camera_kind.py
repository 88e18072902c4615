"""A camera kind in one file, as docs/architecture.md describes: a test pattern generator.

uri: how many frames it gives (e.g. "6"); each frame is a checkerboard whose square size is its
frame number + 4, so frames differ and can be told apart. A finite, file-free source.
"""

from __future__ import annotations

import numpy as np

from resad_station.capture import Frame, FrameSource, SourceOptions, register_source


@register_source
class PatternSource(FrameSource):
    kind = "pattern"
    is_live = False
    uri_hint = "number of frames"

    def __init__(self, uri: str, *, size: int = 64, name: str = "cam1", settings: dict | None = None) -> None:
        super().__init__(uri, name=name, settings=settings)
        if not self.uri.isdigit() or int(self.uri) < 1:
            raise self.error("expected a number of frames (a positive integer)")
        self.count = int(self.uri)
        self.size = size
        self._given = 0
        self._open = False

    @classmethod
    def from_config(cls, uri: str, options: SourceOptions) -> PatternSource:
        return cls(uri, name=options.name, settings=options.settings)

    def open(self) -> None:
        self._open = True
        self._apply_wanted()

    def read(self, timeout: float | None = None) -> Frame | None:
        if not self._open:
            raise self.error("read before open()")
        if self._given >= self.count:
            return None
        square = self._given + 4
        yy, xx = np.mgrid[: self.size, : self.size]
        board = (((yy // square) + (xx // square)) % 2 * 255).astype(np.uint8)
        self._given += 1
        return self._frame(np.repeat(board[:, :, None], 3, axis=2), f"pattern#{self._given - 1}")

    def close(self) -> None:
        self._open = False
