"""Which thread gets the cores: a lower priority for background work (Linux), the engine's thread count.

On Linux every thread is a schedulable task with its own nice value: setpriority on the thread's
native id lowers that thread alone. Elsewhere (or without permission) nothing changes and the
call says so; the recorder still works, only without the hint to the scheduler.
"""

from __future__ import annotations

import os
import sys
import threading

BACKGROUND_NICE = 5  # the recorder's encode and write: a quarter of a core's share when inspection wants it


def lower_this_thread(by: int = BACKGROUND_NICE) -> bool:
    if not sys.platform.startswith("linux") or not hasattr(os, "setpriority"):
        return False
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + int(by)))
    except OSError:
        return False
    return True


def set_engine_threads(count: int | None) -> None:
    """The engine's intra-op threads on the calling thread (the inspection thread): torch applies
    the count to the calling thread and to threads started after it; the main thread, where the
    CLI enrolls, keeps its own. None leaves torch's setting as it is."""
    if count:
        import torch  # only here: this module is imported by threads that never touch torch

        torch.set_num_threads(int(count))
