"""Python's cyclic garbage collector, kept off the line's latency.

A full (generation 2) collection walks every object the collector tracks and holds the
interpreter lock while it does: with the detector, timm, torch and the outputs' libraries
loaded that is about 470,000 objects and 190 ms here, a stall of every Python thread, the
inspection thread's search and flows included. CPython starts one whenever the objects that
survived younger collections reach a quarter of the old ones, so a long-running line pays it
again and again. Once the line is set up, `freeze_startup_heap` moves what exists (modules, the
model, the reference set, this run's pipeline and outputs) out of the collector's sight, and
later full collections walk only what the line made since. Memory is still freed by reference
counting; cycles among frozen objects are not, so `thaw_heap` hands everything back to the
collector when the line stops: what that run built and dropped is then collected as before.
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from typing import Iterator


def freeze_startup_heap() -> int:
    """Collect what is garbage now, then freeze the rest; returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def thaw_heap() -> None:
    """The line stopped: what was frozen at its start is the collector's again."""
    gc.unfreeze()


@contextmanager
def collector_pauses() -> Iterator[dict[int, list[float]]]:
    """Milliseconds of each collection while the block runs, per generation (for benchmarks)."""
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    started = [0.0]

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses[info["generation"]].append((time.perf_counter() - started[0]) * 1000.0)

    gc.callbacks.append(note)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(note)
