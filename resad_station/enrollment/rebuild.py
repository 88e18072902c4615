"""Stored shots: read a reference version's good images back, and rebuild its features.

A rebuild is a new version made of the active version's own shots, re-extracted by the engine as
it is now. The station does it when the engine's feature extraction has changed since the set was
built (for example the resize filter): the stored features would not match the frames any more,
but the good images they came from are in the image store.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine import EngineError
from resad_station.enrollment.enroll import (
    EnrollmentError,
    EnrollmentResult,
    calibrate_references,
    store_reference_set,
)
from resad_station.enrollment.quality import Shot
from resad_station.storage import repository as repo


def as_rgb(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image


def active_shots(db, product: str | int) -> tuple[str, int, list[Shot], list[str]]:
    """(product name, active version, its shots read from the image store, their sources)."""
    with db.session() as s:
        active = repo.active_reference_set(s, product)
        if active is None:
            raise EnrollmentError(f"product {product!r} has no active reference set")
        name, version = active.product.name, active.version
        paths = [img.path for img in active.images]
        sources = [img.source for img in active.images]
    if not paths:
        raise EnrollmentError(f"reference set v{version} of {name!r} has no stored images")
    return name, version, [Shot(p, as_rgb(db.images.read_image(p))) for p in paths], sources


def build_or_explain(detector, shots: list[Shot], what: str):
    try:
        return detector.build_references([shot.image for shot in shots])
    except EngineError as exc:
        raise EnrollmentError(f"{what}: building the references failed: {exc}") from exc


def rebuild_references(db, detector, product: str, reason: str, role: str = "system") -> EnrollmentResult:
    """The active version's shots, re-extracted and recalibrated, stored and activated as a new version."""
    name, old_version, shots, sources = active_shots(db, product)
    refs = build_or_explain(detector, shots, f"rebuilding v{old_version} of {name!r}")
    calibration = calibrate_references(detector, refs)
    ref_id, version = store_reference_set(
        db, detector.method, name, shots, refs, calibration, source=sources, role=role,
        action="reference_set_rebuilt", note=f"rebuilt from v{old_version}: {reason}",
        details={"from_version": old_version, "reason": reason},
    )
    return EnrollmentResult(product=name, reference_set_id=ref_id, version=version, calibration=calibration,
                            refs=refs, shots=[s.name for s in shots])
