"""Camera sources and the capture worker thread.

    source = open_source("replay", "demo/line", base_dir="profiles", fps=5, loop=True)
    worker = CaptureWorker(lambda: source, "triggered", on_state=print)
    worker.start(); frames = worker.get_many(8, timeout=0.5); worker.stop()

Each kind is one module with a FrameSource subclass under @register_source (registry.py); importing
this package registers the shipped ones.
"""

from .base import CorruptFrameError, Frame, FrameSource, ReadTimeout, SourceError, SourceOptions
from .device import DeviceSource
from .factory import open_source
from .folder import FolderSource
from .genicam import GenICamSource
from .hotfolder import HotFolderSource
from .registry import guess_kind, register_source, source_class, source_kinds
from .replay import ReplaySource
from .slots import FrameFifo, LatestFrameSlot
from .stream import StreamSource
from .video import VideoFileSource
from .worker import CaptureWorker

__all__ = [
    "CaptureWorker", "CorruptFrameError", "DeviceSource", "FolderSource", "Frame", "FrameFifo",
    "FrameSource", "GenICamSource", "HotFolderSource", "LatestFrameSlot", "ReadTimeout", "ReplaySource",
    "SourceError", "SourceOptions", "StreamSource", "VideoFileSource", "guess_kind", "open_source",
    "register_source", "source_class", "source_kinds",
]
