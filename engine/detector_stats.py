"""The Detector's bookkeeping on a reference set (a mixin of engine.detector.Detector): the keys its
statistics and leave-one-out scores are stored under, the leave-one-out pass that fills them, and
the limits and ratios of the whole-frame checks (engine/coverage.py). Moved out of detector.py
unchanged (it outgrew the 400-line limit); the methods run on a Detector and use its building blocks
(_scale, _level_maps, _combined, _methods, method_for, align_for, search_for, build_references)."""

from __future__ import annotations

import torch

from engine import coverage
from engine.errors import ReferenceSetError
from engine.image_score import DEFAULT_RULE, image_score
from engine.methods import METHOD_TERMS as TERMS, needs_heads, terms_need_heads, terms_of
from engine.part_align import ALIGN_AUTO, align_key
from engine.references import ReferenceSet
from engine.scoring import level_stats, smooth
from engine.search_choice import SEARCH_AUTO, choose_search, guided_excess
from engine.detector_support import _Clock, _inference

MIN_SHOTS = 2  # leave-one-out statistics need at least two shots


class ReferenceStats:
    """What a reference set chose (align, search), statistics keys, leave-one-out statistics and
    whole-frame check limits of a Detector."""

    def align_for(self, refs: ReferenceSet) -> str:
        """How frames scored against `refs` are turned: this detector's align, or under "auto" the
        set's own (decided from its shots when it was built; "none" for sets that did not record it)."""
        if self.align != ALIGN_AUTO:
            return self.align
        return refs.align or "none"

    def search_for(self, refs: ReferenceSet) -> str:
        """The search frames scored against `refs` get: this detector's, or under "auto" the set's own,
        chosen from its shots (engine/search_choice.py; a set that has none chooses on first use)."""
        if self.search != SEARCH_AUTO:
            return self.search
        if refs.search is None:
            with _inference():
                refs.search_excess = guided_excess(refs, self.radius)
            refs.search = choose_search(refs.search_excess)
        return refs.search

    def _stats_key(self, method: str, refs: ReferenceSet | None = None) -> str:
        """refs: the set the key is for (under align "auto" its own align names it); None: this
        detector's settings alone (score_id)."""
        align = self.align if refs is None else self.align_for(refs)
        search = self.search if refs is None else self.search_for(refs)
        key = f"{method}:{self.weights_id}" if needs_heads(method) else method
        if search != "guided":  # other neighbours, other residuals
            key = f"{key}~{search}"
        if self.local_features:
            key = f"{key}~local"
        if self.augment != "none":  # other pools
            key = f"{key}~aug-{self.augment}"
        key += align_key(align)  # turned shots and frames
        # the shots' leave-one-out scores depend on the levels summed
        return key if self.score_levels is None else f"{key}@levels{''.join(map(str, self.score_levels))}"

    def _loo_key(self, method: str, refs: ReferenceSet | None = None) -> str:
        """Key of the shots' leave-one-out image scores: the statistics' key plus the score rule."""
        key = self._stats_key(method, refs)
        return key if self.image_score == DEFAULT_RULE else f"{key}#{self.image_score}"

    def _loo_level_maps(self, refs: ReferenceSet, terms) -> list[dict[str, list[torch.Tensor]]]:
        """For each shot, its raw level maps against the pool of the other shots."""
        scale = self._scale(refs) if terms_need_heads(terms) else None
        out = []
        with _inference():
            clock = _Clock(self.device)
            for i in range(refs.k):
                feats = [m.unsqueeze(0).to(self.device) for m in refs.maps[i]]
                out.append(self._level_maps(feats, refs.pools(self.device, exclude=i), refs, terms, clock, scale))
        return out

    def _ensure_stats(self, refs: ReferenceSet, methods) -> None:
        """Per-level standardisation statistics from the references alone (leave-one-out).

        The same leave-one-out pass also gives each shot's image score, kept on the reference set
        for calibration, so enrollment runs it once.
        """
        def key(term: str) -> str:
            return self._stats_key(term, refs)

        missing = [m for m in methods
                   if self._loo_key(m, refs) not in refs.loo_scores or any(key(t) not in refs.stats for t in TERMS[m])]
        if not missing:
            return
        if refs.k < MIN_SHOTS:
            raise ReferenceSetError(f"a reference set needs at least {MIN_SHOTS} shots, it has {refs.k}")
        terms = terms_of(missing)
        per_shot = self._loo_level_maps(refs, terms)
        for t in terms:
            if key(t) not in refs.stats:
                levels = [torch.cat([shot[t][l].reshape(-1) for shot in per_shot]) for l in range(refs.levels)]
                refs.stats[key(t)] = level_stats(levels)
        for m in missing:
            refs.loo_scores[self._loo_key(m, refs)] = [image_score(smooth(self._combined(shot, m, refs)[0]), self.image_score)
                                                 for shot in per_shot]

    def leave_one_out_scores(self, refs_or_images, methods=None) -> list[float]:
        """Image score of each shot against the references built from the others."""
        refs = refs_or_images if isinstance(refs_or_images, ReferenceSet) else self.build_references(refs_or_images)
        method = self._methods(methods or (self.method_for(refs),))[0]
        self._ensure_stats(refs, (method,))
        return list(refs.loo_scores[self._loo_key(method, refs)])

    def check_limits(self, refs: ReferenceSet) -> torch.Tensor:
        """(2, 2) limits of the whole-frame checks (engine/coverage.py), from the shots, leave-one-out."""
        if coverage.CHECKS_KEY not in refs.stats:
            with _inference():
                refs.stats[coverage.CHECKS_KEY] = coverage.limits([m[coverage.CHECK_LEVEL] for m in refs.maps])
        return refs.stats[coverage.CHECKS_KEY]

    def widen_check_limits(self, refs: ReferenceSet, good_images) -> torch.Tensor:
        """The checks' limits from the shots and these other good images (enrollment's validation
        images, each against all the shots), kept on refs; a set whose limits were already placed
        is placed anew. Returns the limits."""
        shots = [m[coverage.CHECK_LEVEL] for m in refs.maps]
        values = None
        if len(good_images):
            feats = self.frame_features(list(good_images), short_side=refs.short_side, align=self.align_for(refs))
            with _inference():
                values = torch.cat([coverage.check_values(f[coverage.CHECK_LEVEL].unsqueeze(0), shots) for f in feats])
        with _inference():
            refs.stats[coverage.CHECKS_KEY] = coverage.limits(shots, values)
        return refs.stats[coverage.CHECKS_KEY]

    def _check_ratios(self, frame_level: torch.Tensor, refs: ReferenceSet, exclude: int | None) -> list[dict[str, float]]:
        """Per frame: each check's value / its limit."""
        limit = self.check_limits(refs)[:, 0].tolist()
        shots = [m[coverage.CHECK_LEVEL] for i, m in enumerate(refs.maps) if i != exclude]
        values = coverage.check_values(frame_level, shots).cpu().tolist()
        return [{name: coverage.ratio(v, lim) for name, v, lim in zip(coverage.CHECK_NAMES, row, limit)}
                for row in values]
