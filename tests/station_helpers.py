"""Helpers for the runtime / enrollment tests: demo images, profiles on disk, an event recorder."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "profiles" / "demo"
REFERENCE_FILES = sorted((DEMO / "reference").glob("*.png"))
LINE_FILES = sorted((DEMO / "line").glob("*.png"))


def load_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def write_profile(folder: Path, name: str, product: str, camera: dict, **sections) -> Path:
    """A profile YAML for the k-NN engine (no trained heads needed), CPU, demo references."""
    data = {
        "name": name,
        "product": product,
        "camera": {"name": "cam1", **camera},
        "engine": {"input_size": 256, "shots": 4, "device": "cpu", "method": "knn"},
        "thresholds": {"mode": "auto", "debounce_frames": 2},
        "alarm": {"sound": False, "latch": True},
        "recording": {"keep_images": ["uncertain", "fail"], "pass_sampling": 1.0, "queue_size": 64},
        "enrollment": {"references": str(DEMO / "reference")},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_line_video(path: Path, files=LINE_FILES, fps: float = 15.0) -> Path:
    """The demo line as a real video file (MJPG in AVI: decodable everywhere OpenCV is)."""
    first = cv2.imread(str(files[0]))
    h, w = first.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened(), "OpenCV cannot write MJPG video here"
    for f in files:
        writer.write(cv2.resize(cv2.imread(str(f)), (w, h)))
    writer.release()
    return path


class Events:
    """A runtime listener that keeps everything it is given (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frames, self.alarms, self.states, self.metrics, self.previews = [], [], [], [], []
        self.notices = []

    def on_frame(self, r) -> None:
        with self.lock:
            self.frames.append(r)

    def on_alarm(self, e) -> None:
        with self.lock:
            self.alarms.append(e)

    def on_preview(self, p) -> None:
        with self.lock:
            self.previews.append(p)

    def on_camera_state(self, s) -> None:
        with self.lock:
            self.states.append(s)

    def on_metrics(self, m) -> None:
        with self.lock:
            self.metrics.append(m)

    def on_notice(self, n) -> None:
        with self.lock:
            self.notices.append(n)


def runtime_threads() -> list[threading.Thread]:
    """Live threads the runtime started (capture-, inspect-, recorder- prefixes)."""
    return [t for t in threading.enumerate() if t.name.split("-")[0] in ("capture", "inspect", "recorder") and t.is_alive()]


def run_to_end(profile: Path, data_dir: Path, timeout: float = 120.0):
    """Open a station on the profile, inspect its camera to the end; (Events, final Metrics)."""
    from resad_station.runtime.station import Station

    events = Events()
    with Station.open(profile, data_dir) as station:
        station.add_listener(events)
        station.start()
        assert station.wait(timeout), "the line did not finish"
        station.stop()
        return events, station.metrics()
