"""What a camera is doing: the states the capture worker reports (the runtime passes them on)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CameraStatus(str, enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    STOPPED = "stopped"
    FINISHED = "finished"  # a finite source (video file, folder without loop) reached its end


@dataclass(frozen=True)
class CameraState:
    camera: str
    status: CameraStatus
    reason: str = ""  # why it is reconnecting / failed
    time: float = 0.0
