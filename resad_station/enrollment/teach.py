"""Teach-as-good: a reviewed false alarm joins its product's references as a new version.

The new version = the active version's shots (read back from the image store) + the defect's
image; the reference set is rebuilt and calibration redone by leave-one-out over all shots.
(Validation images of the earlier calibration are not stored, so they do not take part.)
The defect is labelled false_alarm if it was not already, and an audit event is written.
"""

from __future__ import annotations

from resad_station.enrollment.enroll import EnrollmentResult, calibrate_references, store_reference_set
from resad_station.enrollment.quality import Shot
from resad_station.enrollment.rebuild import as_rgb, active_shots, build_or_explain
from resad_station.storage import repository as repo


def teach_as_good(db, detector, defect_id: int, actor: str = "reviewer", note: str = "") -> EnrollmentResult:
    with db.session() as s:
        defect = repo.get_defect(s, defect_id)
        product_id, image_path, previous_label = defect.product_id, defect.image_path, defect.label
    product, old_version, shots, ref_sources = active_shots(db, product_id)
    shots.append(Shot(f"defect {defect_id}", as_rgb(db.images.read_image(image_path)), "review"))
    refs = build_or_explain(detector, shots, f"defect {defect_id}: rebuilding the references of {product!r}")
    calibration = calibrate_references(detector, refs, shot_images=[s.image for s in shots])
    if previous_label != "false_alarm":
        with db.session() as s:
            repo.label_defect(s, defect_id, "false_alarm", reviewer=actor, note=note or None)
    ref_id, version = store_reference_set(
        db, detector.method_for(refs), product, shots, refs, calibration, source=ref_sources + ["review"], actor=actor,
        action="reference_set_taught", note=note or f"taught defect {defect_id} as good",
        details={"defect_id": defect_id, "from_version": old_version},
    )
    return EnrollmentResult(product=product, reference_set_id=ref_id, version=version, calibration=calibration,
                            refs=refs, shots=[s.name for s in shots])
