"""Stored shots: read a reference version's good images back, and rebuild its features.

A rebuild is a new version made of the active version's own shots, re-extracted by the engine as
it is now. The station does it when the engine's feature extraction has changed since the set was
built (for example the resize filter): the stored features would not match the frames any more,
but the good images they came from are in the image store. A version that was rebuilt once is
not rebuilt again: re-activating it (a roll-back) switches to its existing rebuild.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine import EngineError
from engine.preprocess import PREPROCESS_ID
from resad_station.enrollment.enroll import (
    EnrollmentError,
    EnrollmentResult,
    calibrate_references,
    store_reference_set,
)
from resad_station.enrollment.quality import Shot
from resad_station.storage import repository as repo
from resad_station.storage.models import Product

REBUILT = "reference_set_rebuilt"  # audit action


def as_rgb(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image


def active_shots(db, product: str | int) -> tuple[str, int, list[Shot], list[str]]:
    """(product name, active version, its shots read from the image store, their sources).
    The shots keep the names they were enrolled under."""
    with db.session() as s:
        row = s.get(Product, product) if isinstance(product, int) else repo.get_product(s, product)
        name = row.name if row is not None else str(product)
        active = repo.active_reference_set(s, name) if row is not None else None
        if active is None:
            raise EnrollmentError(f"product {name!r} has no active reference set")
        version = active.version
        paths = [img.path for img in active.images]
        sources = [img.source for img in active.images]
        names = list((active.calibration or {}).get("shot_names") or [])
    if not paths:
        raise EnrollmentError(f"reference set v{version} of {name!r} has no stored images")
    if len(names) != len(paths):
        names = paths
    shots = [Shot(n, as_rgb(db.images.read_image(p)), src) for n, p, src in zip(names, paths, sources)]
    return name, version, shots, sources


def build_or_explain(detector, shots: list[Shot], what: str):
    try:
        return detector.build_references([shot.image for shot in shots])
    except EngineError as exc:
        raise EnrollmentError(f"{what}: building the references failed: {exc}") from exc


def existing_rebuild(db, product: str, from_version: int) -> int | None:
    """The version an earlier rebuild of `from_version` made for this engine's preprocessing, if
    it still exists."""
    with db.read_session() as s:
        versions = {rs.version for rs in repo.list_reference_sets(s, product)}
        for event in repo.list_audit_events(s, action=REBUILT, limit=1000):
            d = event.details or {}
            if (d.get("product") == product and d.get("from_version") == from_version
                    and d.get("preprocess") == PREPROCESS_ID and d.get("version") in versions):
                return int(d["version"])
    return None


def rebuild_references(db, detector, product: str, reason: str, actor: str = "system") -> EnrollmentResult:
    """The active version's shots, re-extracted and recalibrated, stored and activated as a new version.
    Thresholds come from leave-one-out over the stored shots: an enrollment's validation images
    are not stored, so they take no part."""
    name, old_version, shots, sources = active_shots(db, product)
    refs = build_or_explain(detector, shots, f"rebuilding v{old_version} of {name!r}")
    calibration = calibrate_references(detector, refs, shot_images=[s.image for s in shots])
    ref_id, version = store_reference_set(
        db, detector.method_for(refs), name, shots, refs, calibration, source=sources, actor=actor,
        action=REBUILT, note=f"rebuilt from v{old_version}: {reason}",
        details={"from_version": old_version, "reason": reason, "preprocess": PREPROCESS_ID,
                 "calibration": "leave-one-out over the stored shots (validation images are not stored)"},
    )
    return EnrollmentResult(product=name, reference_set_id=ref_id, version=version, calibration=calibration,
                            refs=refs, shots=[s.name for s in shots])
