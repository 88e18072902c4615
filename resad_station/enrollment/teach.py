"""Teach-as-good: a reviewed false alarm joins its product's references as a new version.

The new version = the active version's shots (read back from the image store) + the defect's
image; the reference set is rebuilt and calibration redone by leave-one-out over all shots.
(Validation images of the earlier calibration are not stored, so they do not take part.)
The defect is labelled false_alarm if it was not already, and an audit event is written.
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
from resad_station.storage.models import Product


def _rgb(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image


def teach_as_good(db, detector, defect_id: int, role: str = "reviewer", note: str = "") -> EnrollmentResult:
    with db.session() as s:
        defect = repo.get_defect(s, defect_id)
        product = s.get(Product, defect.product_id).name
        active = repo.active_reference_set(s, defect.product_id)
        if active is None:
            raise EnrollmentError(f"product {product!r} has no active reference set to teach into")
        ref_paths = [img.path for img in active.images]
        ref_sources = [img.source for img in active.images]
        image_path, previous_label, old_version = defect.image_path, defect.label, active.version
    if not ref_paths:
        raise EnrollmentError(f"reference set v{old_version} of {product!r} has no stored images to extend")
    shots = [Shot(path, _rgb(db.images.read_image(path))) for path in ref_paths]
    shots.append(Shot(f"defect {defect_id}", _rgb(db.images.read_image(image_path))))
    try:
        refs = detector.build_references([shot.image for shot in shots])
    except EngineError as exc:
        raise EnrollmentError(f"defect {defect_id}: rebuilding the references of {product!r} failed: {exc}") from exc
    calibration = calibrate_references(detector, refs)
    if previous_label != "false_alarm":
        with db.session() as s:
            repo.label_defect(s, defect_id, "false_alarm", reviewer=role, note=note or None)
    ref_id, version = store_reference_set(
        db, detector.method, product, shots, refs, calibration, source=ref_sources + ["review"], role=role,
        action="reference_set_taught", note=note or f"taught defect {defect_id} as good",
        details={"defect_id": defect_id, "from_version": old_version},
    )
    return EnrollmentResult(product=product, reference_set_id=ref_id, version=version, calibration=calibration,
                            refs=refs, shots=[s.name for s in shots])
