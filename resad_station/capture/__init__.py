"""Camera sources and the capture worker thread.

    source = open_source("replay", "demo/line", base_dir="profiles", fps=5, loop=True)
    worker = CaptureWorker(lambda: source, "triggered", on_state=print)
    worker.start(); frames = worker.get_many(8, timeout=0.5); worker.stop()
"""

from .base import CorruptFrameError, Frame, FrameSource, ReadTimeout, SourceError
from .device import DeviceSource
from .factory import SOURCE_KINDS, open_source
from .folder import FolderSource
from .genicam import GenICamSource
from .hotfolder import HotFolderSource
from .replay import ReplaySource
from .slots import FrameFifo, LatestFrameSlot
from .stream import StreamSource
from .video import VideoFileSource
from .worker import CaptureWorker

__all__ = [
    "SOURCE_KINDS", "CaptureWorker", "CorruptFrameError", "DeviceSource", "FolderSource", "Frame", "FrameFifo",
    "FrameSource", "GenICamSource", "HotFolderSource", "LatestFrameSlot", "ReadTimeout", "ReplaySource",
    "SourceError", "StreamSource", "VideoFileSource", "open_source",
]
