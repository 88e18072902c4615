"""Replays a folder of images at a set fps: a simulated production line (the shipped demo)."""

from __future__ import annotations

from .folder import FolderSource
from .registry import register_source

DEFAULT_REPLAY_FPS = 5.0


@register_source
class ReplaySource(FolderSource):
    kind = "replay"
    is_live = True  # it behaves like a running line: parts keep coming whether inspection keeps up or not
    guess_rank = None  # a bare folder given as --source is a folder, not a replay

    def __init__(self, uri: str, *, fps: float | None = None, loop: bool = False, name: str = "cam1",
                 settings: dict | None = None) -> None:
        super().__init__(uri, fps=fps or DEFAULT_REPLAY_FPS, loop=loop, name=name, settings=settings)
        self.fps = fps or DEFAULT_REPLAY_FPS
