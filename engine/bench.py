"""Per-stage timing of the engine on real images (a benchmark: prints numbers, asserts nothing)."""

from __future__ import annotations

import statistics
import time
from typing import Sequence

import numpy as np
import torch

from engine.backbone import load_timm_features
from engine.detector import TERMS, Detector
from engine.preprocess import prepare
from engine.types import STAGES


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples), 2)


def run_bench(
    references: Sequence[np.ndarray],
    frames: Sequence[np.ndarray],
    detector: Detector,
    repeats: int = 30,
    batch: int = 8,
    compare_exact: bool = False,
) -> dict:
    refs = detector.build_references(list(references))
    frames = list(frames)
    for f in frames[:3]:  # warm-up: allocator, oneDNN primitives, cached flow biases
        detector.predict(f, refs)
    per_stage: dict[str, list[float]] = {s: [] for s in (*STAGES, "total")}
    backbone_only: list[float] = []
    timm_stock: list[float] = []
    stock = load_timm_features() if detector.device.type == "cpu" else None  # the yardstick is a CPU one
    for i in range(repeats):
        frame = frames[i % len(frames)]
        pred = detector.predict(frame, refs)
        for s in per_stage:
            per_stage[s].append(pred.timings.get(s, 0.0))
        tensor = prepare(frame, detector.input_size).tensor[None]
        with torch.inference_mode():
            t0 = time.perf_counter()
            detector._features(tensor)
            detector._sync()
            backbone_only.append((time.perf_counter() - t0) * 1000.0)
            if stock is not None:  # the yardstick: timm's features_only model as shipped
                plain = tensor.contiguous()
                t0 = time.perf_counter()
                stock(plain)
                timm_stock.append((time.perf_counter() - t0) * 1000.0)
    # single vs batched on the same frames, interleaved round by round so drift hits both alike
    batch_frames = [frames[i % len(frames)] for i in range(batch)]
    detector.predict_batch(batch_frames, refs)
    single_rounds: list[float] = []
    batched: list[float] = []
    for _ in range(max(15, repeats // batch)):
        t0 = time.perf_counter()
        for f in batch_frames:
            detector.predict(f, refs)
        single_rounds.append((time.perf_counter() - t0) * 1000.0 / batch)
        t0 = time.perf_counter()
        detector.predict_batch(batch_frames, refs)
        batched.append((time.perf_counter() - t0) * 1000.0 / batch)
    stages = {s: _median_ms(v) for s, v in per_stage.items()}
    result = {
        "device": str(detector.device),
        "threads": torch.get_num_threads(),
        "method": detector.method,
        "search": detector.search_for(refs),  # under "auto" what the bench shots chose
        "search_setting": detector.search,
        "input_size": detector.input_size,
        "frame_shape": list(frames[0].shape),
        "shots": refs.k,
        "repeats": repeats,
        "stages_ms": stages,
        "backbone_only_ms": _median_ms(backbone_only),
        "ratio_total_to_backbone": round(stages["total"] / _median_ms(backbone_only), 2),
        "timm_features_only_ms": _median_ms(timm_stock) if timm_stock else None,
        "batched_per_frame_ms": _median_ms(batched),
        "single_per_frame_ms_same_rounds": _median_ms(single_rounds),
        "batched_faster_rounds": f"{sum(b < s for s, b in zip(single_rounds, batched))}/{len(batched)}",
        "batch": batch,
        "reference_set_mb": round(len(refs.to_bytes()) / 1e6, 2),
    }
    if detector.heads is not None and "resad" in TERMS[detector.method] and detector.graphs is None:  # torch's flows
        result.update(_flow_density(detector, refs, frames))
    if compare_exact:
        exact = Detector(detector.heads, detector.card, str(detector.device), detector.input_size, detector.method,
                         search="exact")
        exact.predict(frames[0], refs)
        totals = [exact.predict(frames[i % len(frames)], refs).timings["total"] for i in range(5)]
        result["exact_search_total_ms"] = _median_ms(totals)
    return result


def format_bench(r: dict) -> str:
    search = r["search"] + (" (auto)" if r.get("search_setting") == "auto" else "")
    lines = [
        f"device {r['device']} ({r['threads']} threads), method {r['method']}, search {search}, K={r['shots']}, "
        f"input short side {r['input_size']}, frame {r['frame_shape'][1]}x{r['frame_shape'][0]}, {r['repeats']} frames",
        "median ms per frame:",
    ]
    lines += [f"  {stage:<12} {ms:8.2f}" for stage, ms in r["stages_ms"].items()]
    lines += [
        f"  backbone only (same run) {r['backbone_only_ms']:.2f} ms",
        f"  total / backbone-only    {r['ratio_total_to_backbone']:.2f} x",
        *([f"  timm's features_only model, same input: {r['timm_features_only_ms']:.2f} ms "
           f"(the backbone before truncation, BatchNorm folding and channels-last)"] if r.get("timm_features_only_ms") else []),
        f"  batched ({r['batch']} frames)      {r['batched_per_frame_ms']:.2f} ms per frame, against "
        f"{r['single_per_frame_ms_same_rounds']:.2f} one by one in the same rounds (batched faster in {r['batched_faster_rounds']})",
    ]
    if "flows_dense_ms" in r:
        lines.append(f"  flows: {r['flows_nonzero_share'] * 100:.1f}% of positions non-zero after the constraintor; "
                     f"{r['flows_sparse_ms']:.2f} ms as run"
                     f"{' (identity flows: the untrained heads skip them)' if r.get('flows_identity') else ''}, "
                     f"{r['flows_dense_ms']:.2f} ms with every position through the flows (the worst case)")
    if "exact_search_total_ms" in r:
        lines.append(f"  exhaustive NN search total {r['exact_search_total_ms']:.2f} ms (for comparison)")
    lines.append(f"reference set ({r['shots']} shots): {r['reference_set_mb']:.2f} MB")
    return "\n".join(lines)


def _flow_density(detector: Detector, refs, frames, rounds: int = 10) -> dict:
    """The flows only see positions the constraintor left non-zero: how many, and what the dense
    (worst) case costs on the same residuals."""
    heads, pools = detector.heads, refs.pools(detector.device)
    nonzero = total = 0
    sparse: list[float] = []
    dense: list[float] = []
    with torch.inference_mode():
        for i in range(rounds):
            tensor = prepare(frames[i % len(frames)], detector.input_size).tensor[None]
            residuals = detector._residuals(detector._features(tensor), pools, refs)
            constrained = detector._constrained(residuals, detector._scale(refs))
            for c in constrained:
                nonzero += int(c.permute(0, 2, 3, 1).reshape(-1, c.shape[1]).any(1).sum())
                total += c.shape[0] * c.shape[2] * c.shape[3]
            for use_dense, out in ((False, sparse), (True, dense)):
                t0 = time.perf_counter()
                for l, c in enumerate(constrained):
                    heads.log_prob_map(l, c, dense=use_dense)
                out.append((time.perf_counter() - t0) * 1000.0)
    return {"flows_nonzero_share": round(nonzero / total, 4), "flows_sparse_ms": _median_ms(sparse),
            "flows_dense_ms": _median_ms(dense),
            "flows_identity": all(heads._fused(l).identity for l in range(len(heads.flows)))}
