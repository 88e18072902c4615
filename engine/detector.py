"""The Detector: the engine's public face (see design.md, "Engine API").

    det = Detector.load()                       # bundled ResAD weights, device "auto"
    refs = det.build_references(good_images)    # K >= 2 good shots, HxWx3 uint8 RGB
    pred = det.predict(image, refs)             # Prediction(score, grid_map, ..., timings); .anomaly_map full size

method "resad": residual -> constraintor -> flow, score -log p. method "knn": the training-free
baseline, the norm of the same residual (distance to the nearest reference feature). method
"resad+knn": the sum of the two maps; each is a sum of per-level standard scores taken from the
product's own shots, so the two terms share one scale and need no weight. method "auto": the
method chosen for each reference set by its self-test (engine/self_test.py), kept on the set.

Every prediction also carries the whole-frame checks of engine/coverage.py (part missing, unlike
the references), unless the detector was made with checks=False.

One Detector may serve several threads at once (the live line and an enrollment): calls keep
their state in a per-call clock, and the caches they fill lazily are idempotent.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from engine import coverage
from engine.allocator import keep_freed_memory
from engine.backbone import BACKBONE_ID, frozen_for_cpu, load_backbone
from engine.detector_stats import MIN_SHOTS, ReferenceStats
from engine.detector_support import _chunks, _Clock, _group_by_shape, _inference, resolve_device
from engine.errors import EngineError, InputImageError, ReferenceSetError
from engine.heads import ResADHeads
from engine.methods import (METHOD_TERMS, TERM_REGISTRY, PassOutputs, constrain, needs_heads, terms_need_heads,
                            terms_of)
from engine.nearest import NearestShots
from engine.image_score import DEFAULT_RULE, check_rule, image_score
from engine.local_features import local_average
from engine.nn_search import SEARCH_MODES, search_levels
from engine.onnx_runtime import RUNTIMES, runtime_graphs
from engine.part_align import ALIGN_AUTO, check_align, prepare_aligned, resolve_align, to_frame
from engine.preprocess import PREPROCESS_ID, Prepared, shots_short_side
from engine.reference_augment import check_augment, extra_views
from engine.references import ReferenceSet
from engine.residual_scale import leave_one_out_norms, residual_scale
from engine.search_choice import check_search
from engine.scoring import SCORE_SCHEME, combine_levels, smooth
from engine.types import Prediction
from engine.weights import BUNDLED_WEIGHTS, load_heads

TERMS = METHOD_TERMS  # what each method's map sums: the registry in engine/methods.py
METHODS = tuple(TERMS)  # the shipped methods
AUTO = "auto"  # the method each reference set's self-test chose (ReferenceSet.method)
METHOD_CHOICES = METHODS + (AUTO,)
AUTO_FALLBACK = "resad+knn"  # "auto" on a reference set no self-test has chosen for
CPU_BATCH = 4
# ...frames of 256 x 256 input; a CPU mini-batch holds at most this many input pixels (at 512 px one
# frame: four of them took twice the time per frame of one by one, their search outgrowing the cache)
CPU_BATCH_PIXELS = CPU_BATCH * 256 * 256
RESIDUAL_SCALE = "residual_scale"  # key of the references' residual scale in ReferenceSet.stats


class Detector(ReferenceStats):  # keys, leave-one-out statistics, check limits: engine/detector_stats.py
    def __init__(
        self,
        heads: ResADHeads | None,
        card: dict | None = None,
        device: str = "auto",
        input_size: int = 256,
        method: str = "resad",
        radius: int = 2,
        search: str = "guided",
        score_levels: Sequence[int] | None = None,
        image_score: str = DEFAULT_RULE,
        local_features: bool = False,
        augment: str = "none",
        align: str = "none",
        checks: bool = True,
        runtime: str = "torch",
        onnx_file: str | Path | None = None,
        onnx_cache: str | Path | None = None,
    ):
        if method != AUTO and method not in TERMS:
            raise EngineError(f"method: expected one of {(*TERMS, AUTO)}, got {method!r}")
        if method != AUTO and needs_heads(method) and heads is None:
            raise EngineError(f"method {method!r} needs trained head weights: pass a weights file, or use method 'knn'")
        if input_size < 64 or input_size % 32:
            raise EngineError(f"input_size: expected a multiple of 32 that is >= 64, got {input_size}")
        self.device = resolve_device(device)
        if self.device.type == "cpu":
            keep_freed_memory()  # per-frame activations stay in the heap (engine/allocator.py)
        self.input_size = int(input_size)
        self.method = method
        self.checks = bool(checks)  # the whole-frame checks of engine/coverage.py
        self.radius = radius
        # engine/nn_search.py; "auto": each reference set chooses guided or wide (search_for)
        self.search = check_search(search)
        # which levels (1-based) the score sums; None = all three, as in the paper
        self.score_levels = None if score_levels is None else tuple(sorted({int(l) for l in score_levels}))
        if self.score_levels is not None and (not self.score_levels or not set(self.score_levels) <= {1, 2, 3}):
            raise EngineError(f"score_levels: expected some of 1, 2, 3, got {list(score_levels)}")
        self.image_score = check_rule(image_score)  # engine/image_score.py
        self.local_features = bool(local_features)  # engine/local_features.py
        self.augment = check_augment(augment)  # engine/reference_augment.py
        # engine/part_align.py: shots and frames turned to one pose; "auto": each reference set decides (align_for)
        self.align = check_align(align)
        self.card = card or {}
        self.backbone = load_backbone().to(self.device)
        # what inference runs on the CPU: the same trunk, frozen (engine/backbone.frozen_for_cpu)
        self._cpu_trunk = frozen_for_cpu(self.backbone) if self.device.type == "cpu" and runtime == "torch" else None
        self.heads = heads.to(self.device).eval() if heads is not None else None
        self.weights_id = self.card.get("sha256", "untrained")[:16] if heads is not None else "none"
        if runtime not in RUNTIMES:
            raise EngineError(f"runtime: expected one of {RUNTIMES}, got {runtime!r}")
        self.runtime = runtime
        # onnxruntime: backbone and heads run as exported graphs (engine/onnx_runtime.py); None: torch
        self.graphs = None if runtime == "torch" else runtime_graphs(
            onnx_file, onnx_cache, self.heads, self.card, self.input_size, self.device)

    @classmethod
    def load(
        cls,
        weights: str | Path | None = None,
        device: str = "auto",
        input_size: int = 256,
        method: str = "resad",
        **kwargs,
    ) -> "Detector":
        """weights None: the bundled model. method 'knn' needs no weights (they are still loaded if present)."""
        path = Path(weights) if weights is not None else BUNDLED_WEIGHTS
        if method in ("knn", AUTO) and weights is None and not path.is_file():
            return cls(None, None, device, input_size, method, **kwargs)
        heads, card = load_heads(path)
        return cls(heads, card, device, input_size, method, **kwargs)

    # -- building blocks ---------------------------------------------------------------------
    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def _features(self, batch: torch.Tensor) -> list[torch.Tensor]:
        if self.graphs is not None:  # engine.runtime onnxruntime: the exported features graph
            feats = self.graphs.features(batch)
            return local_average(feats) if self.local_features else feats
        batch = batch.to(self.device, memory_format=torch.channels_last, non_blocking=True)
        if self.device.type == "cuda":
            with torch.autocast("cuda", dtype=torch.float16):
                feats = [f.float() for f in self.backbone(batch)]
        else:
            feats = list(self._cpu_trunk(batch))
        return local_average(feats) if self.local_features else feats

    def _batches(self, prepared: list[Prepared]) -> list[list[int]]:
        """Frames of one size that are inspected together. A GPU takes them all; on the CPU
        mini-batches of CPU_BATCH_PIXELS are fastest per frame (measured on 2 cores: 4 frames of 256 px
        ~25% faster per frame than one by one, 8 outgrow the cache and lose half of that)."""
        groups = _group_by_shape(prepared)
        if self.device.type == "cuda":
            return groups
        return [chunk for g in groups
                for chunk in _chunks(g, max(1, CPU_BATCH_PIXELS // prepared[g[0]].tensor[0].numel()))]

    @property
    def score_id(self) -> str:
        """What this detector's scores are made of (method, weights, search, levels, how maps are combined):
        scores of two detectors with different ids live on different scales. Under method or align
        "auto" the reference set completes it: score_id_for(refs) is what calibrations store."""
        return f"{self._loo_key(self.method)}/{SCORE_SCHEME}"

    @property
    def available_methods(self) -> tuple[str, ...]:
        """The shipped methods this detector can run (those of the ResAD heads only when loaded)."""
        return tuple(m for m in METHODS if self.heads is not None or not needs_heads(m))

    def method_for(self, refs: ReferenceSet) -> str:
        """The concrete method that scores frames against `refs`: this detector's, or under "auto" the
        one the set's self-test chose (AUTO_FALLBACK where none was chosen)."""
        if self.method != AUTO:
            return self.method
        chosen = getattr(refs, "method", None)
        if chosen in self.available_methods:
            return chosen
        return AUTO_FALLBACK if self.heads is not None else "knn"

    def score_id_for(self, refs: ReferenceSet) -> str:
        """score_id of the method that scores frames against `refs` (see method_for, align_for)."""
        return f"{self._loo_key(self.method_for(refs), refs)}/{SCORE_SCHEME}"

    def _scale(self, refs: ReferenceSet) -> torch.Tensor | None:
        """The references' residual scale when the heads were trained with it (else None)."""
        if self.heads is None or self.heads.config.residual_norm != "reference":
            return None
        if RESIDUAL_SCALE not in refs.stats:
            with _inference():
                refs.stats[RESIDUAL_SCALE] = residual_scale(leave_one_out_norms(refs, self.radius))
        return refs.stats[RESIDUAL_SCALE]

    def _constrained(self, residuals: list[torch.Tensor], scale: torch.Tensor | None) -> list[torch.Tensor]:
        """The heads' constraintor output per level (residuals scaled first when the model wants it)."""
        return constrain(self.heads, residuals, scale)

    def _residuals(self, feats, pools, refs: ReferenceSet, found=None) -> list[torch.Tensor]:
        """Per level x - x*, searched the way this detector is set up for `refs` (radius, search_for)."""
        exhaustive, matches = SEARCH_MODES[self.search_for(refs)]
        return search_levels(feats, pools, self.radius, exhaustive, matches, found)

    def _level_maps(self, feats, pools, refs: ReferenceSet, terms, clock: _Clock, scale=None,
                    found=None) -> dict[str, list[torch.Tensor]]:
        """Raw per-level maps (B, H_l, W_l) of each term (engine/methods.py); larger = more anomalous."""
        residuals = self._residuals(feats, pools, refs, found)
        clock.mark("nn_search")
        heads = self.heads if self.graphs is None else self.graphs.heads_for(self.heads)  # the heads graph
        outputs = PassOutputs(feats, residuals, heads, scale)
        out = {t: TERM_REGISTRY[t].compute(outputs) for t in terms}
        clock.mark("flows")
        return out

    def _combined(self, maps: dict[str, list[torch.Tensor]], method: str, refs: ReferenceSet) -> np.ndarray:
        """(B, H_1, W_1): the method's terms, each standardised per level and summed, added up."""
        total = None
        for term in TERMS[method]:
            z = combine_levels(maps[term], refs.stats[self._stats_key(term, refs)], self.score_levels)
            total = z if total is None else total + z
        return total.cpu().numpy()

    def _methods(self, methods) -> tuple[str, ...]:
        methods = (self.method,) if methods is None else tuple(methods)
        unknown = [m for m in methods if m not in TERMS]
        if unknown:
            raise EngineError(f"method(s) {unknown}: expected some of {tuple(TERMS)}")
        if self.heads is None and any(needs_heads(m) for m in methods):
            raise EngineError(f"method(s) {list(methods)} need the ResAD heads, but this detector was loaded without "
                              "head weights (Detector.load(method='knn') with no bundled model): load it with weights")
        return methods

    # -- references ----------------------------------------------------------------------------
    def build_references(self, images: Sequence[np.ndarray], roi=None) -> ReferenceSet:
        if len(images) < MIN_SHOTS:
            raise ReferenceSetError(f"a reference set needs at least {MIN_SHOTS} good images, got {len(images)}")
        align = resolve_align(self.align, images)  # under "auto": "part" when the shots are a loose part
        # every shot at the scale of their median short side; turned, each keeps its own
        short_side = shots_short_side(images, roi, "reference image") if align == "none" else None
        prepared = [prepare_aligned(img, self.input_size, roi, f"reference image {i}", short_side, align)[0] for i, img in enumerate(images)]
        maps: list[list[torch.Tensor]] = [None] * len(prepared)  # type: ignore[list-item]
        with _inference():
            for idx_group in _group_by_shape(prepared):
                feats = self._features(torch.stack([prepared[i].tensor for i in idx_group]))
                for j, i in enumerate(idx_group):
                    maps[i] = [f[j].float().cpu().contiguous() for f in feats]
        refs = ReferenceSet(maps, self.input_size, BACKBONE_ID, views=self._views(prepared), short_side=short_side,
                            align=align)
        self.search_for(refs)  # under search "auto" the set chooses from its shots, before its statistics
        self._ensure_stats(refs, METHODS if self.heads is not None else ("knn",))
        return refs

    def _views(self, prepared: Sequence[Prepared]) -> list[tuple[int, list[torch.Tensor]]]:
        """(shot index, per-level maps) of every augmented view of the prepared shots (none by default)."""
        if self.augment == "none":
            return []
        out = []
        with _inference():
            for i, shot in enumerate(prepared):
                for view in extra_views(shot.tensor.permute(1, 2, 0).numpy(), self.augment):
                    tensor = torch.from_numpy(np.ascontiguousarray(view)).permute(2, 0, 1)
                    out.append((i, [f[0].float().cpu().contiguous() for f in self._features(tensor[None])]))
        return out

    # -- prediction ------------------------------------------------------------------------------
    def predict(self, image: np.ndarray, refs: ReferenceSet, roi=None) -> Prediction:
        method = self.method_for(refs)
        return self._run([image], refs, roi, (method,))[0][method]

    def predict_batch(self, images: Sequence[np.ndarray], refs: ReferenceSet, roi=None) -> list[Prediction]:
        method = self.method_for(refs)
        return [r[method] for r in self._run(images, refs, roi, (method,))]

    def predict_all(self, image: np.ndarray, refs: ReferenceSet, roi=None) -> dict[str, Prediction]:
        """Every available method from one backbone pass and one NN search."""
        methods = METHODS if self.heads is not None else ("knn",)
        return self._run([image], refs, roi, methods)[0]

    def predict_methods(self, images: Sequence[np.ndarray], refs: ReferenceSet, methods: Sequence[str],
                        roi=None, exclude: int | None = None) -> list[dict[str, Prediction]]:
        """Per image, a prediction of each method asked for (batched; one backbone pass and one search).
        exclude: a shot left out of the pool and the checks (scoring an altered copy of that shot
        leave-one-out, as the self-test does); standardisation stays that of the whole set."""
        return self._run(images, refs, roi, self._methods(methods), exclude)

    def _smoothed_maps(self, feats, pools, refs, methods, clock: _Clock, found=None) -> dict[str, np.ndarray]:
        """Per method, the smoothed anomaly maps (B, H_1, W_1) on the finest level's grid."""
        terms = terms_of(methods)
        scale = self._scale(refs) if terms_need_heads(terms) else None
        maps = self._level_maps(feats, pools, refs, terms, clock, scale, found)
        return {m: np.stack([smooth(c) for c in self._combined(maps, m, refs)]) for m in methods}

    def frame_features(self, images: Sequence[np.ndarray], poses: list | None = None,
                       short_side: int | None = None, align: str | None = None) -> list[list[torch.Tensor]]:
        """Per image, its per-level features (C, H_l, W_l) on the CPU, as the frames' search sees them
        (evaluation computes them once and scores many reference draws with `maps_from_features`).
        short_side: the reference set's (ReferenceSet.short_side), whose scale the frames take.
        align: the reference set's (align_for); None: this detector's, which must then be fixed.
        poses: when given, each image's PartPose (None without alignment) is appended to it, for
        `engine.part_align.to_frame` to bring the maps back to the frames' coordinates."""
        align = self.align if align is None else check_align(align)
        if align == ALIGN_AUTO:
            raise EngineError("frame_features: under align 'auto' pass the reference set's align (align_for)")
        pairs = [prepare_aligned(img, self.input_size, None, f"frame {i}", short_side, align) for i, img in enumerate(images)]
        prepared = [p for p, _ in pairs]
        if poses is not None:
            poses.extend(pose for _, pose in pairs)
        out: list[list[torch.Tensor]] = [None] * len(prepared)  # type: ignore[list-item]
        with _inference():
            for group in self._batches(prepared):
                feats = self._features(torch.stack([prepared[i].tensor for i in group]))
                for j, i in enumerate(group):
                    out[i] = [f[j].float().cpu().contiguous() for f in feats]
        return out

    def maps_from_features(self, feats: Sequence[torch.Tensor], refs: ReferenceSet, methods=None) -> dict[str, np.ndarray]:
        """Per method, smoothed maps (B, H_1, W_1) on the finest grid of frames given by their
        per-level features (B, C, H_l, W_l), all of one size; scores follow with engine.image_score."""
        methods = self._methods(methods)
        self._ensure_stats(refs, methods)
        with _inference():
            feats = [f.to(self.device) for f in feats]
            return self._smoothed_maps(feats, refs.pools(self.device), refs, methods, _Clock(self.device))

    def score_features(self, items: Sequence[Sequence[torch.Tensor]], refs: ReferenceSet, methods=None) -> dict[str, np.ndarray]:
        """Image scores of images given by their backbone features (per image, per level (C, H, W)):
        training and evaluation cache the frozen backbone's output and call this."""
        methods = METHODS if methods is None and self.heads is not None else self._methods(methods or ("knn",))
        self._ensure_stats(refs, methods)
        scores = {m: np.zeros(len(items), dtype=np.float64) for m in methods}
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i, it in enumerate(items):
            groups[tuple(it[0].shape)].append(i)
        with _inference():
            clock = _Clock(self.device)
            pools = refs.pools(self.device)
            for idx in groups.values():
                feats = [torch.stack([items[i][l] for i in idx]).to(self.device) for l in range(refs.levels)]
                maps = self._smoothed_maps(feats, pools, refs, methods, clock)
                for m in methods:
                    scores[m][idx] = [image_score(sm, self.image_score) for sm in maps[m]]
        return scores

    def _run(self, images, refs: ReferenceSet, roi, methods, exclude: int | None = None) -> list[dict[str, Prediction]]:
        if not isinstance(refs, ReferenceSet):
            raise ReferenceSetError(f"refs: expected a ReferenceSet, got {type(refs).__name__}")
        if len(images) == 0:
            return []
        refs.check_compatible(BACKBONE_ID, self.input_size, PREPROCESS_ID, self.align)
        methods = self._methods(methods)
        self._ensure_stats(refs, methods)
        if self.checks:
            self.check_limits(refs)
        outputs: list[dict[str, tuple[float, np.ndarray]]] = [{} for _ in images]  # score, map on the grid
        nearest: list[NearestShots | None] = [None] * len(images)
        ratios: list[dict[str, float]] = [{} for _ in images]
        with _inference():
            clock = _Clock(self.device)
            align = self.align_for(refs)
            pairs = [prepare_aligned(img, self.input_size, roi, f"frame {i}", refs.short_side, align) for i, img in enumerate(images)]
            prepared, poses = [p for p, _ in pairs], [pose for _, pose in pairs]
            clock.mark("preprocess")
            pools = refs.pools(self.device, exclude)
            for group in self._batches(prepared):
                feats = self._features(torch.stack([prepared[i].tensor for i in group]))
                clock.mark("backbone")
                if self.checks:
                    for i, r in zip(group, self._check_ratios(feats[coverage.CHECK_LEVEL], refs, exclude)):
                        ratios[i] = {**r, "blank": coverage.blank_ratio(prepared[i].tensor)}
                    clock.mark("checks")
                found: list = []  # the finest level's matches, for the "why" view
                maps = self._smoothed_maps(feats, pools, refs, methods, clock, found)
                for j, i in enumerate(group):  # matches on turned grids would point elsewhere: none under align
                    nearest[i] = NearestShots.of(found[0], j, prepared[i], refs) if poses[i] is None else None
                for m in methods:
                    for j, i in enumerate(group):
                        sm = to_frame(maps[m][j], poses[i])
                        outputs[i][m] = (image_score(sm, self.image_score), sm)
                clock.mark("postprocess")
        per_frame = {k: v / len(images) for k, v in clock.ms.items()}  # batch time shared evenly
        per_frame["total"] = sum(per_frame.values())
        return [{m: Prediction(score, grid, p.original_shape, p.roi, dict(per_frame), nearest=near, checks=dict(r),
                               reason=coverage.reason(r))
                 for m, (score, grid) in out.items()} for out, near, r, p in zip(outputs, nearest, ratios, prepared)]

