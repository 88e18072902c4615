"""A hot folder: every new image file dropped into it is inspected once, when completely written.

watchdog reports file events; a file is taken only once its size and mtime have stayed the same
for `settle_s` and it has its end marker (JPEG/PNG) and decodes. Files that stay undecodable for
`corrupt_after_s` are reported as corrupt.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from .base import CorruptFrameError, Frame, FrameSource, ReadTimeout
from .decode import ImageDecodeError, decode_image_bytes, is_image_file, looks_complete
from .registry import register_source

POLL_S = 0.05


class _Events(FileSystemEventHandler):
    def __init__(self, owner: HotFolderSource) -> None:
        self.owner = owner

    def on_created(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.owner._notice(os.fsdecode(event.src_path))

    def on_modified(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.owner._notice(os.fsdecode(event.src_path))

    def on_closed(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.owner._notice(os.fsdecode(event.src_path))

    def on_moved(self, event: FileSystemEvent) -> None:
        # writers that save to a temporary name and rename when done show up here
        if not event.is_directory:
            self.owner._notice(os.fsdecode(event.dest_path))


class _Candidate:
    __slots__ = ("first_seen", "stat", "stable_since")

    def __init__(self, now: float) -> None:
        self.first_seen = now
        self.stat: tuple[int, int] | None = None
        self.stable_since = now


@register_source
class HotFolderSource(FrameSource):
    kind = "hotfolder"
    is_live = False  # every file is a part to inspect: never drop one
    uri_is_path = True

    def __init__(self, uri: str, *, name: str = "cam1", settings: dict | None = None, include_existing: bool = False,
                 settle_s: float = 0.2, corrupt_after_s: float = 3.0, polling: bool = False) -> None:
        super().__init__(uri, name=name, settings=settings)
        self.path = Path(uri)
        self.include_existing = include_existing
        self.settle_s = settle_s
        self.corrupt_after_s = corrupt_after_s
        self.polling = polling  # network shares often send no change events; poll them instead
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: dict[str, _Candidate] = {}  # file name -> candidate, in order of arrival
        # once each: per file name, the (size, mtime_ns) and content digest last delivered or skipped.
        # A camera that overwrites "latest.bmp" gives a new part each time; a mere touch does not.
        self._done_stat: dict[str, tuple[int, int]] = {}
        self._done_digest: dict[str, bytes] = {}
        self._opened_once = False
        self._observer: Observer | PollingObserver | None = None

    def _notice(self, path: str) -> None:
        # the watch is not recursive, so a name is enough (and immune to symlinked parents)
        if not is_image_file(path):
            return
        with self._lock:
            self._pending.setdefault(os.path.basename(path), _Candidate(time.monotonic()))
        self._wake.set()

    def open(self) -> None:
        if self._observer is not None:
            return
        if not self.path.is_dir():
            raise self.error("cannot open (folder not found)" if not self.path.exists() else "cannot open (not a folder)")
        observer = PollingObserver(timeout=0.25) if self.polling else Observer()
        observer.schedule(_Events(self), str(self.path), recursive=False)
        try:
            observer.start()
        except OSError as exc:
            raise self.error(f"cannot watch the folder ({exc.strerror or exc})") from exc
        self._observer = observer
        existing = sorted(e.name for e in os.scandir(self.path) if e.is_file() and is_image_file(e.name))
        if self._opened_once or self.include_existing:
            # after a reconnect, pick up what arrived while we were not watching (delivered ones are skipped)
            for name in existing:
                self._notice(str(self.path / name))
        else:
            for name in existing:
                stat = self._stat(self.path / name)
                if stat:
                    self._done_stat[name] = stat  # present before start: not new
        self._opened_once = True
        self._apply_wanted()

    def close(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=1.0)

    @staticmethod
    def _stat(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns)

    def read(self, timeout: float | None = None) -> Frame | None:
        if self._observer is None:
            raise self.error("read before open()")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if not self.path.is_dir():
                raise self.error("the folder disappeared")
            if self._observer is not None and not self._observer.is_alive():
                raise self.error("the folder watcher stopped")
            frame = self._take_ready()
            if frame is not None:
                return frame
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise ReadTimeout("no new file yet")
            wait = POLL_S if self._pending else 0.5
            if deadline is not None:
                wait = min(wait, deadline - now)
            self._wake.wait(wait)
            self._wake.clear()

    def _take_ready(self) -> Frame | None:
        now = time.monotonic()
        with self._lock:
            names = list(self._pending)
        for name in names:
            path = self.path / name
            cand = self._pending[name]
            stat = self._stat(path)
            if stat is None or self._done_stat.get(name) == stat:
                self._drop(name)  # deleted again, or unchanged since it was taken
                continue
            if stat != cand.stat:
                cand.stat, cand.stable_since = stat, now
                continue
            if now - cand.stable_since < self.settle_s:
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue  # still locked by the writer (Windows); try again
            digest = hashlib.blake2b(data, digest_size=16).digest()
            if self._done_digest.get(name) == digest:
                self._done_stat[name] = stat  # touched or re-saved unchanged: the same part
                self._drop(name)
                continue
            image, problem = None, "truncated (no end marker)"
            if looks_complete(data, name):
                try:
                    image = decode_image_bytes(data, name=name, max_megapixels=self.max_megapixels)
                except ImageDecodeError as exc:
                    problem = str(exc)
            if image is None and now - cand.stable_since < self.corrupt_after_s:
                continue  # the writer may just be slow
            self._done_stat[name], self._done_digest[name] = stat, digest
            self._drop(name)
            if image is None:
                raise CorruptFrameError(f"{self.describe()}: file '{name}' skipped: {problem}", file=str(path))
            return self._frame(image, name)
        return None

    def _drop(self, name: str) -> None:
        with self._lock:
            self._pending.pop(name, None)
