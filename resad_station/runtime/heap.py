"""Python's cyclic garbage collector, kept off the line's latency.

A full (generation 2) collection walks every object the collector tracks and holds the
interpreter lock while it does: with the detector, timm, torch and the outputs' libraries
loaded that is about 470,000 objects and 190 ms here, a stall of every Python thread, the
inspection thread's search and flows included. CPython starts one whenever the objects that
survived younger collections reach a quarter of the old ones, so a long-running line pays it
again and again. Once the line is set up, the objects that exist (modules, the model, the
reference set, the outputs' servers) live as long as the station: `freeze_startup_heap` moves
them out of the collector's sight, and later full collections walk only what the line made since.
Memory is still freed by reference counting as before; only cycles among the frozen objects
(none is expected: they are the program itself) would no longer be found.
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
