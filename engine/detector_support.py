"""Plumbing of engine/detector.py: the inference context, the per-call clock, the device, and how
frames are grouped into batches. Moved out of detector.py unchanged (it outgrew the 400-line limit)."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Iterable

import torch

from engine.errors import EngineError
from engine.preprocess import Prepared


@contextmanager
def _inference():
    """inference_mode, with denormal floats flushed to zero on the calling thread (a CPU flag of
    that thread; it stays set). Without it the flows hit the CPU's slow denormal path: measured
    here, the three flows took 1.9x as long. Values below 1e-38 do not change any score."""
    torch.set_flush_denormal(True)
    with torch.inference_mode():
        yield


class _Clock:
    """Milliseconds per stage of one call (each call has its own, so calls may run concurrently)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.ms: dict[str, float] = defaultdict(float)
        self.last = time.perf_counter()

    def mark(self, stage: str) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        now = time.perf_counter()
        self.ms[stage] += (now - self.last) * 1000.0
        self.last = now


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise EngineError(f"device: expected 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise EngineError("device 'cuda' was asked for but no CUDA GPU is available")
    return torch.device(device)


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _group_by_shape(prepared: Iterable[Prepared]) -> list[list[int]]:
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, p in enumerate(prepared):
        groups[tuple(p.tensor.shape)].append(i)
    return list(groups.values())
