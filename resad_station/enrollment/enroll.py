"""Enrollment: good shots -> checks -> reference set -> calibration -> a new stored version.

Two steps: prepare() checks, builds and calibrates (an EnrollmentDraft, nothing stored: the GUI shows
it first); save() stores the draft as a new active version. enroll() is prepare() then save().

Every stored version keeps its shots as image files (so it can be rebuilt or extended later,
e.g. by teach-as-good) and its calibration as JSON; each change writes an audit event.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from engine import EngineError, self_test
from resad_station.capture.imaging import crop_roi, image_files
from resad_station.enrollment.calibration import Calibration, CalibrationError, calibrate
from resad_station.enrollment.quality import QualitySettings, Reject, Shot, check_shots, load_shots
from resad_station.storage import repository as repo

if TYPE_CHECKING:
    from engine import ReferenceSet

MIN_SHOTS = 2  # leave-one-out calibration needs at least two shots
PREDICT_CHUNK = 8


class EnrollmentError(ValueError):
    """Enrollment could not produce a reference set; the message says which images and why."""


@dataclass
class EnrollmentResult:
    product: str
    reference_set_id: int
    version: int
    calibration: Calibration
    refs: ReferenceSet
    shots: list[str] = field(default_factory=list)  # names of the shots used
    rejects: list[Reject] = field(default_factory=list)
    validation_rejects: list[Reject] = field(default_factory=list)
    validation: list[str] = field(default_factory=list)  # names of the images scored for calibration only

    def summary(self) -> dict[str, Any]:
        c = self.calibration
        return {
            "product": self.product, "version": self.version, "reference_set_id": self.reference_set_id,
            "shots": self.shots, "validation": self.validation, "rejects": [{"image": r.name, "reason": r.reason} for r in self.rejects],
            "validation_rejects": [{"image": r.name, "reason": r.reason} for r in self.validation_rejects],
            "good_scores": {"mean": c.mean, "std": c.std, "max": c.max, "shots": c.shot_scores,
                            "validation": c.validation_scores},
            "t_uncertain": c.t_uncertain, "t_fail": c.t_fail, "rule": c.rule,
            "self_test": c.self_test,
        }


@dataclass
class EnrollmentDraft:
    """A checked, built and calibrated reference set that is not stored yet (see prepare / save).

    Shown to the engineer (calibration histogram, rejects) before save() makes it a version.
    """

    product: str
    shots: list[Shot]  # the accepted shots the references were built from (ROI applied)
    refs: ReferenceSet
    calibration: Calibration
    method: str  # the engine method that built refs (stored with the calibration)
    sources: list[str]  # where each shot came from: file | live | review
    rejects: list[Reject] = field(default_factory=list)
    validation_rejects: list[Reject] = field(default_factory=list)
    validation_images: int = 0
    validation_names: list[str] = field(default_factory=list)  # the good images scored for calibration only
    profile_path: str | None = None

    @property
    def shot_names(self) -> list[str]:
        return [s.name for s in self.shots]


def _describe_rejects(rejects: Sequence[Reject]) -> str:
    return "; ".join(f"{r.name}: {r.reason}" for r in rejects) or "none"


def score_images(detector, images: Sequence[np.ndarray], refs) -> list[float]:
    scores: list[float] = []
    for i in range(0, len(images), PREDICT_CHUNK):
        scores += [float(p.score) for p in detector.predict_batch(list(images[i:i + PREDICT_CHUNK]), refs)]
    return scores


def calibrate_references(detector, refs, validation_images: Sequence[np.ndarray] = (),
                         shot_images: Sequence[np.ndarray] = (), progress=None) -> Calibration:
    """Leave-one-out scores of the shots + scores of the validation images -> thresholds.

    With the shots' images (the ones refs was built from, in order) the engine's self-test runs too:
    synthetic defects on the shots place the thresholds, and under method "auto" it chooses the
    method (kept on refs.method and stored with the calibration)."""
    try:
        if len(validation_images) and detector.checks:  # good parts the shots' spread alone may not cover
            detector.widen_check_limits(refs, validation_images)
        if len(shot_images):
            test = self_test.run(detector, shot_images, refs, validation_images, progress=progress)
            s = test.best.scores
            cal = calibrate(s.shots, s.validation, s.synthetic)
            return replace(cal, score_id=detector.score_id_for(refs), self_test=test.to_dict())
        loo = detector.leave_one_out_scores(refs)
        extra = score_images(detector, validation_images, refs) if len(validation_images) else []
        return replace(calibrate(loo, extra), score_id=detector.score_id_for(refs))
    except (EngineError, CalibrationError) as exc:
        raise EnrollmentError(f"calibration failed: {exc}") from exc


def store_reference_set(
    db,
    method: str,
    product: str,
    shots: Sequence[Shot],
    refs,
    calibration: Calibration,
    *,
    source: str | Sequence[str],
    actor: str,
    action: str,
    note: str = "",
    profile_path: str | None = None,
    details: dict[str, Any] | None = None,
) -> tuple[int, int]:
    """Files first, then one transaction: reference set version + images + audit event.

    `method`: the engine method that built `refs`. `source`: where the shots came from
    (file | live | review), one for all or one per shot.
    """
    files = [db.images.put_image(shot.image, ".png") for shot in shots]
    sources = [source] * len(shots) if isinstance(source, str) else list(source)
    cal = calibration.to_dict() | {"method": method, "shot_names": [s.name for s in shots]}
    with db.session() as s:
        p = repo.get_or_create_product(s, product, profile_path=profile_path)
        rs = repo.add_reference_set(
            s, p, features=refs.to_bytes(), backbone=refs.backbone, engine_version=refs.engine_version,
            input_size=refs.input_size, shots=refs.k, calibration=cal,
            images=[repo.ReferenceImageSpec(f, src) for f, src in zip(files, sources)], note=note, activate=True,
        )
        repo.add_audit_event(s, actor, action, {
            "product": product, "version": rs.version, "reference_set_id": rs.id, "shots": refs.k,
            "method": method, "t_uncertain": calibration.t_uncertain, "t_fail": calibration.t_fail,
            **(details or {}),
        })
        return rs.id, rs.version


def prepare(
    detector,
    product: str,
    shots: Sequence[Shot],
    *,
    validation: Sequence[Shot] = (),
    k: int | None = None,
    pre_rejects: Sequence[Reject] = (),
    quality: QualitySettings = QualitySettings(),
    source: str | Sequence[str] | None = None,
    profile_path: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> EnrollmentDraft:
    """Check, build and calibrate a reference set of `product`; stores nothing (see save()).

    `pre_rejects`: files that already failed to decode (from quality.load_shots), reported along.
    `k`: use the first k accepted shots (all when None); accepted good images beyond k are not
    wasted: they are scored as validation images, so the calibration sees more good parts.
    `source`: one for all shots or one per shot (None: each shot's own `source`).
    """
    if source is None:
        sources = [s.source for s in shots]
    else:
        sources = [source] * len(shots) if isinstance(source, str) else list(source)
    if len(sources) != len(shots):
        raise ValueError(f"{len(sources)} sources for {len(shots)} shots")
    report = check_shots(shots, quality)
    rejects = list(pre_rejects) + report.rejects
    accepted = report.accepted[:k] if k else report.accepted
    surplus = report.accepted[k:] if k else []
    if len(accepted) < MIN_SHOTS:
        raise EnrollmentError(
            f"product {product!r}: {len(accepted)} usable image(s), at least {MIN_SHOTS} are needed "
            f"(rejected: {_describe_rejects(rejects)})"
        )
    source_of = {id(shot): src for shot, src in zip(shots, sources)}  # check_shots keeps the objects
    val_report = check_shots(validation, quality) if validation else None
    val_shots = (val_report.accepted if val_report else []) + surplus
    say = progress or (lambda message: None)
    say(f"enrolling {product}: building references from {len(accepted)} shots")
    try:
        refs = detector.build_references([s.image for s in accepted])
    except EngineError as exc:
        raise EnrollmentError(f"product {product!r}: building the reference set failed: {exc}") from exc
    say(f"enrolling {product}: calibrating ({len(accepted)} shots scored leave-one-out, "
        f"{len(val_shots)} validation images, synthetic defects on the shots)")
    calibration = calibrate_references(detector, refs, [s.image for s in val_shots], [s.image for s in accepted])
    return EnrollmentDraft(
        product=product, shots=list(accepted), refs=refs, calibration=calibration, method=detector.method_for(refs),
        sources=[source_of[id(s)] for s in accepted], rejects=rejects,
        validation_rejects=val_report.rejects if val_report else [], validation_images=len(val_shots),
        validation_names=[s.name for s in val_shots], profile_path=profile_path,
    )


def save(db, draft: EnrollmentDraft, *, actor: str = "engineer", note: str = "",
         details: dict[str, Any] | None = None) -> EnrollmentResult:
    """Store a prepared draft as the product's new active reference-set version (audited)."""
    ref_id, version = store_reference_set(
        db, draft.method, draft.product, draft.shots, draft.refs, draft.calibration, source=draft.sources,
        actor=actor, action="reference_set_enrolled", note=note, profile_path=draft.profile_path,
        details={"rejects": [{"image": r.name, "reason": r.reason} for r in draft.rejects],
                 "validation_images": draft.validation_images, **(details or {})},
    )
    return EnrollmentResult(
        product=draft.product, reference_set_id=ref_id, version=version, calibration=draft.calibration,
        refs=draft.refs, shots=draft.shot_names, rejects=draft.rejects, validation_rejects=draft.validation_rejects,
        validation=list(draft.validation_names),
    )


def enroll(
    db,
    detector,
    product: str,
    shots: Sequence[Shot],
    *,
    validation: Sequence[Shot] = (),
    k: int | None = None,
    pre_rejects: Sequence[Reject] = (),
    quality: QualitySettings = QualitySettings(),
    source: str = "file",
    actor: str = "engineer",
    note: str = "",
    profile_path: str | None = None,
) -> EnrollmentResult:
    """prepare() then save(): check, build, calibrate and store a new active version of `product`."""
    draft = prepare(detector, product, shots, validation=validation, k=k, pre_rejects=pre_rejects,
                    quality=quality, source=source, profile_path=profile_path)
    return save(db, draft, actor=actor, note=note)


def shots_from(items: Sequence[str | os.PathLike | np.ndarray | Shot], roi=None) -> tuple[list[Shot], list[Reject]]:
    """Frames (arrays or named Shots) and files / folders as shots cropped to the ROI; undecodable files as rejects."""
    arrays = [x if isinstance(x, Shot) else Shot(f"frame {i}", x)
              for i, x in enumerate(items) if isinstance(x, (np.ndarray, Shot))]
    shots, rejects = load_shots(image_files([x for x in items if not isinstance(x, (np.ndarray, Shot))]))
    out = []
    for shot in arrays + shots:
        try:
            out.append(replace(shot, image=crop_roi(shot.image, roi)))
        except (ValueError, AttributeError) as exc:
            rejects.append(Reject(shot.name, str(exc)))
    return out, rejects


def prepare_items(detector, profile, items=(), *, frames: Sequence[np.ndarray | Shot] = (),
                  product: str | None = None, k: int | None = None, validation=(),
                  source: str = "file", progress: Callable[[str], None] | None = None) -> EnrollmentDraft:
    """prepare() from files, folders or frames, with the profile's ROI and product.

    `items` are cropped to the profile's ROI (their source is `source`); `frames` are live frames
    already cut to the ROI by the pipeline (source "live").
    """
    say = progress or (lambda message: None)
    say(f"enrolling {product or profile.product}: loading and checking the images")
    shots, rejects = shots_from(items, profile.camera.roi)
    shots = [replace(s, source=source) for s in shots]
    live = [replace(x, source="live") if isinstance(x, Shot) else Shot(f"live frame {i}", x, "live")
            for i, x in enumerate(frames)]
    val_shots, _ = shots_from(validation, profile.camera.roi)
    return prepare(
        detector, product or profile.product, shots + live, validation=val_shots, k=k, pre_rejects=rejects,
        profile_path=_profile_path_of(profile, product or profile.product), progress=progress,
    )


def _profile_path_of(profile, product: str) -> str | None:
    # Recorded on the product row only when this profile is the one that runs the product.
    return str(profile.source_path) if profile.source_path and profile.product == product else None


def enroll_items(db, detector, profile, items, *, product: str | None = None, k: int | None = None,
                 validation=(), source: str = "file", actor: str = "engineer", note: str = "",
                 progress: Callable[[str], None] | None = None) -> EnrollmentResult:
    """enroll() from files, folders or frames, with the profile's ROI and product."""
    draft = prepare_items(detector, profile, items, product=product, k=k, validation=validation, source=source,
                          progress=progress)
    return save(db, draft, actor=actor, note=note)


def activate_version(db, product: str, version: int, actor: str = "engineer") -> int:
    """Make an earlier (or later) reference-set version the active one; returns its id."""
    with db.session() as s:
        match = [rs for rs in repo.list_reference_sets(s, product) if rs.version == version]
        if not match:
            raise EnrollmentError(f"product {product!r} has no reference set version {version}")
        rs = repo.activate_reference_set(s, match[0].id)
        repo.add_audit_event(s, actor, "reference_set_activated",
                             {"product": product, "version": version, "reference_set_id": rs.id})
        return rs.id
