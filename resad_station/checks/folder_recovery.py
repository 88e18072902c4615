"""Delete a folder camera's folder and copy it back, again and again: does the camera come back?

    python -m resad_station.checks.folder_recovery [--cycles 20] [--gone-s 3] [--backoff 0.2,0.5,1,2,5]

A looping `folder` source over copies of the demo line's images runs in a CaptureWorker with
the documented backoff. Each cycle deletes the folder while frames flow, waits --gone-s
seconds, copies the images back (each first half-written for --half-written-s, as a slow copy
leaves them) and waits (up to --deadline-s, from the start of the copy) for new frames.
Prints, as JSON: cycles recovered, seconds to recover (median, max) and camera state changes
while the folder was gone (max per cycle; a settled state changes a few times, a flapping one
eight times a second). Exit 0 when every cycle recovered.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from resad_station.capture.folder import FolderSource
from resad_station.capture.worker import CaptureWorker
from resad_station.paths import SHIPPED_PROFILES_DIR

DEMO_LINE = SHIPPED_PROFILES_DIR / "demo" / "line"


class _Watch:
    def __init__(self) -> None:
        self.states: list[str] = []
        self.lock = threading.Lock()

    def on_state(self, state) -> None:
        with self.lock:
            self.states.append(state.status.value)


def _wait(condition, deadline_s: float) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _copy_back(files: list[Path], folder: Path, partial_s: float = 0.0) -> None:
    """Copy the files in; with partial_s, every file is first half-written for that long (a slow copy)."""
    folder.mkdir()
    if partial_s > 0:
        for f in files:
            data = f.read_bytes()
            (folder / f.name).write_bytes(data[: len(data) // 2])
        time.sleep(partial_s)
    for f in files:
        shutil.copyfile(f, folder / f.name)


def run_cycles(cycles: int, gone_s: float, backoff: tuple[float, ...], deadline_s: float,
               files: list[Path], workdir: Path, partial_s: float = 1.0) -> dict:
    folder = workdir / "cam"
    _copy_back(files, folder)
    watch = _Watch()
    worker = CaptureWorker(lambda: FolderSource(str(folder), loop=True, fps=30), "live", watch.on_state,
                           backoff=backoff)
    worker.start()
    recovered, times, flaps = 0, [], []
    try:
        if not _wait(lambda: worker.captured > 0, deadline_s):
            raise RuntimeError(f"the folder camera never delivered a frame: {worker.last_error}")
        for _ in range(cycles):
            shutil.rmtree(folder)
            with watch.lock:
                before = len(watch.states)
            time.sleep(gone_s)
            with watch.lock:
                flaps.append(len(watch.states) - before)
            captured = worker.captured
            start = time.monotonic()
            _copy_back(files, folder, partial_s)
            if _wait(lambda: worker.captured > captured, deadline_s):
                recovered += 1
                times.append(time.monotonic() - start)
    finally:
        worker.stop(2.0)
    return {
        "cycles": cycles, "recovered": recovered, "gone_s": gone_s, "half_written_s": partial_s,
        "backoff_s": list(backoff),
        "recover_s": {"median": round(statistics.median(times), 2) if times else None,
                      "max": round(max(times), 2) if times else None},
        "state_changes_while_gone": {"max": max(flaps) if flaps else 0,
                                     "mean": round(statistics.mean(flaps), 1) if flaps else 0},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resad_station.checks.folder_recovery",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--gone-s", type=float, default=3.0)
    parser.add_argument("--backoff", default="0.2,0.5,1,2,5", help="comma-separated seconds (the worker's default)")
    parser.add_argument("--half-written-s", type=float, default=1.0,
                        help="how long the copied files stay half-written before the copy completes")
    parser.add_argument("--deadline-s", type=float, default=30.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the half-written files' skip warnings are expected here
    files = sorted(DEMO_LINE.glob("*.png"))[:6]
    with tempfile.TemporaryDirectory() as tmp:
        report = run_cycles(args.cycles, args.gone_s, tuple(float(b) for b in args.backoff.split(",")),
                            args.deadline_s, files, Path(tmp),
                            args.half_written_s)
    print(json.dumps(report, indent=2))
    return 0 if report["recovered"] == report["cycles"] else 1


if __name__ == "__main__":
    sys.exit(main())
