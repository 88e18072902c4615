"""The torch and ONNX Runtime engines side by side: per-stage timings (engine/bench.py, one run each),
single frames timed in alternation so load drift hits both alike, and how far their maps and
scores differ on the same reference set (a benchmark: prints numbers, asserts nothing)."""

from __future__ import annotations

import statistics
import time
from typing import Sequence

import numpy as np

from engine.backbone import load_backbone
from engine.bench import run_bench
from engine.detector import Detector
from engine.local_features import local_average


def run_runtimes(references: Sequence[np.ndarray], frames: Sequence[np.ndarray], detectors: dict[str, Detector],
                 repeats: int = 30, batch: int = 8, rounds: int = 20) -> dict:
    """detectors: runtime name -> a Detector; the first one's reference set serves them all."""
    results = {name: run_bench(references, frames, det, repeats, batch) for name, det in detectors.items()}
    names = list(detectors)
    refs = detectors[names[0]].build_references(list(references))
    alternated: dict[str, list[float]] = {n: [] for n in names}
    for i in range(rounds):
        frame = frames[i % len(frames)]
        for n in names if i % 2 == 0 else names[::-1]:  # who goes first alternates too
            t0 = time.perf_counter()
            detectors[n].predict(frame, refs)
            alternated[n].append((time.perf_counter() - t0) * 1000.0)
    parity = {}
    if len(names) > 1:
        base = detectors[names[0]]
        if base.graphs is None:  # the yardstick: how far torch's own float32 rounding moves the same maps
            detectors = {**detectors, FLOAT64: _Float64Backbone(base)}
        parity = _parity(detectors, refs, frames)
    return {"runtimes": results, "alternated_single_ms": {n: round(statistics.median(v), 2) for n, v in alternated.items()},
            "parity": parity, "frames": len(frames)}


FLOAT64 = "torch, float64 backbone"


class _Float64Backbone(Detector):
    """The torch engine with its backbone run in float64 (features rounded to float32 after it)."""

    def __init__(self, like: Detector):
        super().__init__(like.heads, like.card, "cpu", like.input_size, like.method, radius=like.radius,
                         search=like.search, score_levels=like.score_levels, image_score=like.image_score,
                         local_features=like.local_features, augment=like.augment, checks=like.checks)
        self.backbone64 = load_backbone().double()

    def _features(self, batch):
        feats = [f.float() for f in self.backbone64(batch.double())]
        return local_average(feats) if self.local_features else feats


def _parity(detectors: dict[str, Detector], refs, frames) -> dict:
    """Per other runtime and method: the largest |map difference| from the first runtime's, the largest
    score difference, the share of map cells within 1e-3, and whether the frames' score order is the same."""
    names = list(detectors)
    base_det = detectors[names[0]]
    methods = base_det.available_methods
    base = base_det.predict_methods(list(frames), refs, methods)
    out = {}
    for n in names[1:]:
        other = detectors[n].predict_methods(list(frames), refs, methods)
        per = {}
        for m in methods:
            diffs = [np.abs(a[m].anomaly_map - b[m].anomaly_map) for a, b in zip(base, other)]
            s_a, s_b = np.array([a[m].score for a in base]), np.array([b[m].score for b in other])
            per[m] = {"max_map_diff": float(max(d.max() for d in diffs)),
                      "share_within_1e-3": float(np.mean([(d < 1e-3).mean() for d in diffs])),
                      "max_score_diff": float(np.abs(s_a - s_b).max()),
                      "same_score_order": bool((np.argsort(s_a, kind="stable") == np.argsort(s_b, kind="stable")).all())}
        out[n] = per
    return out


def format_runtimes(r: dict) -> str:
    names = list(r["runtimes"])
    first = r["runtimes"][names[0]]
    head = (f"device {first['device']} ({first['threads']} threads), method {first['method']}, search {first['search']}, "
            f"K={first['shots']}, input short side {first['input_size']}, frame {first['frame_shape'][1]}x"
            f"{first['frame_shape'][0]}, {first['repeats']} frames per runtime")
    width = max(14, *(len(n) + 2 for n in names))
    lines = [head, "median ms per frame" + "".join(f"{n:>{width}}" for n in names)]
    rows = [(s, [r["runtimes"][n]["stages_ms"].get(s, 0.0) for n in names]) for s in first["stages_ms"]]
    rows += [("backbone only", [r["runtimes"][n]["backbone_only_ms"] for n in names]),
             (f"batched ({first['batch']})", [r["runtimes"][n]["batched_per_frame_ms"] for n in names]),
             ("one by one", [r["runtimes"][n]["single_per_frame_ms_same_rounds"] for n in names]),
             ("alternating", [r["alternated_single_ms"][n] for n in names])]
    lines += [f"  {label:<17}" + "".join(f"{v:>{width}.2f}" for v in values) for label, values in rows]
    lines.append("  batched faster in" + "".join(f"{r['runtimes'][n]['batched_faster_rounds']:>{width - 1}}"
                                                  for n in names) + " rounds")
    for other, per in r["parity"].items():
        lines.append(f"{other} against {names[0]} on the same reference set, {r['frames']} frames:")
        for m, p in per.items():
            lines.append(f"  {m:<10} max |map diff| {p['max_map_diff']:.2e}, cells within 1e-3 "
                         f"{p['share_within_1e-3'] * 100:.3f}%, max |score diff| {p['max_score_diff']:.2e}, "
                         f"score order {'same' if p['same_score_order'] else 'DIFFERENT'}")
    return "\n".join(lines)
