"""A folder of image files, read in sorted (natural) order, optionally looping."""

from __future__ import annotations

from pathlib import Path

from .base import CorruptFrameError, Frame, FrameSource, SourceOptions
from .decode import IMAGE_EXTENSIONS, ImageDecodeError, natural_key, read_image_file
from .imaging import image_files
from .pacing import Pacer
from .registry import register_source


@register_source
class FolderSource(FrameSource):
    kind = "folder"
    is_live = False
    uri_is_path = True
    guess_rank = 90  # what is left: a folder of images

    @classmethod
    def claims(cls, uri: str) -> bool:
        return True

    @classmethod
    def from_config(cls, uri: str, options: SourceOptions) -> FolderSource:
        return cls(options.path(uri), fps=options.fps, loop=options.loop, name=options.name, settings=options.settings)

    def __init__(self, uri: str, *, fps: float | None = None, loop: bool = False, name: str = "cam1",
                 settings: dict | None = None) -> None:
        super().__init__(uri, name=name, settings=settings)
        self.path = Path(uri)
        self.loop = loop
        self._pacer = Pacer(fps) if fps else None
        self._files: list[str] = []
        self._pos = 0
        self._last_key: list[object] | None = None  # resume point, by name, survives a re-listing
        self._good_this_pass = 0
        self._tried_this_pass = 0
        self._reported: dict[str, tuple[int, int]] = {}  # undecodable files, by (size, mtime): reported once
        self._open = False

    def _list(self) -> list[str]:
        if not self.path.exists():
            raise self.error("cannot open (folder not found)")
        if not self.path.is_dir():
            raise self.error("cannot open (not a folder)")
        try:
            return [p.name for p in image_files([self.path])]
        except OSError as exc:
            raise self.error(f"cannot list the folder ({exc.strerror or exc})") from exc

    def open(self) -> None:
        if self._open:
            return
        files = self._list()
        if not files:
            raise self.error(f"no image files (expected {', '.join(IMAGE_EXTENSIONS)})")
        self._files = files
        # after a reconnect, carry on after the last delivered file instead of starting over
        self._pos = 0 if self._last_key is None else sum(natural_key(f) <= self._last_key for f in files)
        if self._pacer:
            self._pacer.reset()
        self._open = True
        self._apply_wanted()

    def close(self) -> None:
        self._open = False

    def _new_pass(self) -> None:
        self._pos, self._last_key, self._good_this_pass, self._tried_this_pass = 0, None, 0, 0

    def read(self, timeout: float | None = None) -> Frame | None:
        if not self._open:
            raise self.error("read before open()")
        while True:
            if self._pos >= len(self._files):
                if not self.loop:
                    return None
                if self._good_this_pass == 0 and self._tried_this_pass:
                    # the next attempt starts a fresh pass: files copied in again are read from the top
                    self._new_pass()
                    raise self.error("no file in the folder could be decoded")
                self._new_pass()
                self._files = self._list()
                if not self._files:
                    raise self.error("the folder became empty")
            if self._pacer:
                self._pacer.wait(timeout)  # may raise ReadTimeout; the position is unchanged then
            name = self._files[self._pos]
            path = self.path / name
            problem = ""
            try:
                stat = path.stat()
                image = read_image_file(path, max_megapixels=self.max_megapixels)
            except FileNotFoundError as exc:
                # the file (or the whole folder, e.g. a network share) went away: a source failure
                raise self.error(f"file '{name}' disappeared") from exc
            except ImageDecodeError as exc:
                image, problem = None, str(exc)
            except OSError as exc:
                raise self.error(f"cannot read file '{name}' ({exc.strerror or exc})") from exc
            self._pos += 1
            self._tried_this_pass += 1
            self._last_key = natural_key(name)
            if image is not None:
                self._reported.pop(name, None)
                self._good_this_pass += 1
                return self._frame(image, name)
            seen = (stat.st_size, stat.st_mtime_ns)
            if self._reported.get(name) != seen:  # reported once; on later passes skipped quietly
                self._reported[name] = seen
                raise CorruptFrameError(f"{self.describe()}: file '{name}' skipped: {problem}", file=str(path))
