"""Self-test of a reference set: how its good shots and synthetic defects on them score.

Good scores: each shot leave-one-out (against the other shots) plus any validation images against
all of them. Synthetic defects: SYNTHETIC_PER_SHOT defects of the training generator
(engine/training/synthetic.py: cut-paste, foreign-texture blotches, scratches, in turn) pasted on
each shot, each scored leave-one-out (against the other shots, so a defect is never matched with
the shot it was made from). Everything comes from the product's own good images; seeded, so the
same shots give the same self-test.

choose_method() is the one place "auto" picks a method: enrollment and evaluation both call it.
The method whose synthetic defects the calibrated thresholds catch best (fail or uncertain) wins;
ties go to the larger separation (AUROC of synthetic against good), then to the larger margin
between the weakest synthetic defects (their 5 % quantile) and the largest good score, then to the
larger gap from the median synthetic score, both in spreads of the good scores (CHOICE_ORDER;
margin before gap was measured on the transfer protocol, docs/evaluation-full.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from engine.errors import ReferenceSetError
from engine.part_align import ALIGN_AUTO, loose_part
from engine.search_choice import SEARCH_AUTO
from engine.thresholds import RULE, UNCERTAIN_QUANTILE, Placement, outcome, place
from engine.training.synthetic import KINDS, synthesize

SYNTHETIC_PER_SHOT = 3
SEED = 0
CHUNK = 8
WEAK_CAUGHT = 0.8  # below this share of synthetic defects caught (fail or uncertain), the separation is weak
WEAK_AUROC = 0.9


@dataclass
class MethodScores:
    """One method's self-test scores (and the whole-frame checks' verdicts on the same images)."""

    method: str
    shots: list[float]  # leave-one-out, one per shot
    validation: list[float] = field(default_factory=list)
    synthetic: list[float] = field(default_factory=list)
    synthetic_kinds: list[str] = field(default_factory=list)
    good_reasons: list[str] = field(default_factory=list)  # check reason per good image ("" = passes)
    synthetic_reasons: list[str] = field(default_factory=list)

    @property
    def good(self) -> list[float]:
        return list(self.shots) + list(self.validation)


def synthetic_defects(images: Sequence[np.ndarray], per_shot: int = SYNTHETIC_PER_SHOT, seed: int = SEED):
    """[(shot index, kind, defective image)], the kinds in turn so each appears as often."""
    rng = np.random.default_rng(seed)
    out = []
    for j, image in enumerate(images):
        for n in range(per_shot):
            kind = KINDS[(j * per_shot + n) % len(KINDS)]
            out.append((j, kind, synthesize(image, rng, kind).image))
    return out


def score_methods(detector, shot_images: Sequence[np.ndarray], refs, methods: Sequence[str],
                  validation: Sequence[np.ndarray] = (), per_shot: int = SYNTHETIC_PER_SHOT,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, MethodScores]:
    """Self-test scores of each method; shot_images are the images refs was built from, in order."""
    if len(shot_images) != refs.k:
        raise ReferenceSetError(f"self-test: {len(shot_images)} shot images for a reference set of {refs.k} shots")
    methods = list(methods)
    out = {m: MethodScores(m, []) for m in methods}
    defects = synthetic_defects(shot_images, per_shot)
    total, done = refs.k + len(validation) + len(defects), 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    for j, image in enumerate(shot_images):  # good, leave-one-out
        pred = detector.predict_methods([image], refs, methods, exclude=j)[0]
        for m in methods:
            out[m].shots.append(float(pred[m].score))
            out[m].good_reasons.append(pred[m].reason)
        tick(1)
    for i in range(0, len(validation), CHUNK):
        chunk = list(validation[i:i + CHUNK])
        for pred in detector.predict_methods(chunk, refs, methods):
            for m in methods:
                out[m].validation.append(float(pred[m].score))
                out[m].good_reasons.append(pred[m].reason)
        tick(len(chunk))
    for j in range(refs.k):
        mine = [(kind, img) for shot, kind, img in defects if shot == j]
        for pred, (kind, _) in zip(detector.predict_methods([img for _, img in mine], refs, methods, exclude=j), mine):
            for m in methods:
                out[m].synthetic.append(float(pred[m].score))
                out[m].synthetic_kinds.append(kind)
                out[m].synthetic_reasons.append(pred[m].reason)
        tick(len(mine))
    return out


def auroc(good: Sequence[float], bad: Sequence[float]) -> float:
    """P(a bad score > a good score), ties counted half."""
    g, b = np.asarray(good, float), np.asarray(bad, float)
    if g.size == 0 or b.size == 0:
        return float("nan")
    greater = (b[:, None] > g[None, :]).mean()
    ties = (b[:, None] == g[None, :]).mean()
    return float(greater + 0.5 * ties)


CHOICE_ORDER = ("caught", "auroc", "margin", "gap")  # MethodReport fields compared in turn by choose_method


def choose_method(candidates: dict[str, tuple[float, ...]]) -> str:
    """candidates: method -> its MethodReport.key() (CHOICE_ORDER); the best by that order (see the module doc)."""
    if not candidates:
        raise ReferenceSetError("self-test: no method to choose from")
    return max(candidates, key=lambda m: tuple(-1.0 if np.isnan(v) else v for v in candidates[m]))


@dataclass
class MethodReport:
    """One method's self-test: its scores, the thresholds they place, and how both sets fare."""

    scores: MethodScores
    placement: Placement
    good: tuple[int, int, int]  # fail, uncertain, pass
    synthetic: tuple[int, int, int]
    auroc: float
    gap: float  # (median synthetic - max good) / spread
    margin: float  # (synthetic 5 % quantile - max good) / spread: the weakest defects' margin

    @property
    def caught(self) -> float:
        n = sum(self.synthetic)
        return (self.synthetic[0] + self.synthetic[1]) / n if n else float("nan")

    def key(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in CHOICE_ORDER)

    def to_dict(self) -> dict:
        n = max(1, sum(self.synthetic))
        return {"method": self.scores.method, "t_uncertain": self.placement.t_uncertain,
                "t_fail": self.placement.t_fail, "good_fail": self.good[0], "good_uncertain": self.good[1],
                "good_pass": self.good[2], "synthetic_fail_pct": 100.0 * self.synthetic[0] / n,
                "synthetic_uncertain_pct": 100.0 * self.synthetic[1] / n, "synthetic_n": sum(self.synthetic),
                "auroc": self.auroc, "gap": self.gap, "margin": self.margin}


def report(scores: MethodScores) -> MethodReport:
    p = place(scores.good, scores.synthetic)
    good = outcome(scores.good, scores.good_reasons, p.t_uncertain, p.t_fail)
    syn = outcome(scores.synthetic, scores.synthetic_reasons, p.t_uncertain, p.t_fail)
    gap = margin = float("nan")
    if scores.synthetic:
        gap = (float(np.median(scores.synthetic)) - p.max) / p.spread
        margin = (float(np.quantile(scores.synthetic, UNCERTAIN_QUANTILE)) - p.max) / p.spread
    return MethodReport(scores, p, good, syn, auroc(scores.good, scores.synthetic), gap, margin)


@dataclass
class SelfTest:
    method: str  # the method that scores this reference set (chosen here under "auto")
    reports: dict[str, MethodReport]
    chosen: bool  # True when the method was chosen among several ("auto")
    warnings: list[str] = field(default_factory=list)
    align: str = "none"  # how the shots and frames are turned (engine/part_align.py)
    align_chosen: bool = False  # True under engine.align "auto": the shots decided
    search: str = "guided"  # the nearest-neighbour search frames get (engine/nn_search.py)
    search_excess: float | None = None  # under engine.search "auto": the signal it was chosen on (engine/search_choice.py)

    @property
    def best(self) -> MethodReport:
        return self.reports[self.method]

    def summary(self) -> str:
        r = self.best
        n_good = sum(r.good)
        good = "all pass" if r.good[2] == n_good else f"{r.good[2]} of {n_good} pass, {r.good[1]} uncertain, {r.good[0]} fail"
        n = max(1, sum(r.synthetic))
        return (f"good (leave-one-out and validation): {good}; synthetic defects: {100.0 * r.synthetic[0] / n:.0f} % fail, "
                f"{100.0 * r.synthetic[1] / n:.0f} % uncertain")

    def to_dict(self) -> dict:
        return {"method": self.method, "chosen": self.chosen, "summary": self.summary(), "warnings": list(self.warnings),
                "align": self.align, "align_chosen": self.align_chosen,
                "search": self.search, "search_excess": self.search_excess,
                "rule": RULE, "synthetic_per_shot": SYNTHETIC_PER_SHOT, "seed": SEED,
                "methods": {m: r.to_dict() for m, r in self.reports.items()}}


def _warnings(test: SelfTest, k: int, input_size: int, loose: bool = False) -> list[str]:
    """loose: every shot shows one part, at clearly different angles (engine/part_align.loose_part)
    while the detector does not align them."""
    r, out = test.best, []
    if loose:
        out.append("every shot shows one part lying at a different angle: if the product lies loose, "
                   "engine.align: part turns shots and frames to one pose (on MVTec screws image AUROC "
                   "0.68 -> 0.88); enroll again after changing it")
    bad_good = [i for i, reason in enumerate(r.scores.good_reasons) if reason]
    if bad_good:
        out.append(f"{len(bad_good)} good image(s) fail the whole-frame checks "
                   f"({', '.join(sorted({r.scores.good_reasons[i] for i in bad_good}))}): "
                   "the shots differ a lot from one another; add shots that show the normal variation")
    if r.caught < WEAK_CAUGHT or r.auroc < WEAK_AUROC:
        helps = [f"more shots (K = {k} now)"]
        others = sorted((o for m, o in test.reports.items() if m != test.method), key=MethodReport.key, reverse=True)
        if others and not test.chosen:
            helps.append(f"another method (engine.method {others[0].scores.method}: {100 * others[0].caught:.0f} % caught; "
                         "or auto)")
        elif not others:
            helps.append("another method (engine.method auto)")
        if input_size < 512:
            helps.append(f"a larger input (engine.input_size {input_size} now; 384 or 512 for small defects)")
        out.append(f"weak separation: {100 * r.caught:.0f} % of synthetic defects reach review or fail "
                   f"(AUROC {r.auroc:.2f} against the good scores); what would help: " + ", ".join(helps))
    return out


def run(detector, shot_images: Sequence[np.ndarray], refs, validation: Sequence[np.ndarray] = (),
        progress: Callable[[int, int], None] | None = None, auto: bool | None = None) -> SelfTest:
    """The self-test of `refs` (built by `detector` from `shot_images`, in order). Under method "auto"
    (or auto=True) it scores every method the detector has, chooses one (choose_method) and records
    it on refs.method; otherwise it tests the method that scores refs."""
    auto = detector.method == "auto" if auto is None else auto
    methods = list(detector.available_methods) if auto else [detector.method_for(refs)]
    scores = score_methods(detector, shot_images, refs, methods, validation, progress=progress)
    reports = {m: report(s) for m, s in scores.items()}
    method = choose_method({m: r.key() for m, r in reports.items()})
    if auto:
        refs.method = method
    search = detector.search_for(refs)
    test = SelfTest(method, reports, chosen=auto and len(methods) > 1, align=detector.align_for(refs),
                    align_chosen=detector.align == ALIGN_AUTO, search=search,
                    search_excess=refs.search_excess if detector.search == SEARCH_AUTO else None)
    loose = detector.align == "none" and loose_part(shot_images)
    test.warnings = _warnings(test, refs.k, refs.input_size, loose)
    return test
