"""The recorder's part of the "why" view: crops as files first, then the defect_why row."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from resad_station.storage.image_store import StoredFile
from resad_station.storage.repository.why import add_defect_why
from resad_station.why.explain import Why, explain, why_crops
from resad_station.why.shots import ReferenceShots

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedWhy:
    why: Why
    reference_set_id: int
    crop: StoredFile
    ref_crop: StoredFile


class WhyRecorder:
    def __init__(self, db) -> None:
        self.db = db
        self.shots = ReferenceShots(db)

    def prepare(self, result: Any) -> PreparedWhy | None:
        """The why of a FrameResult with its two crops stored; None when it cannot be had (no
        matches from the engine, reference images gone): the defect is still recorded without it."""
        if getattr(result, "nearest", None) is None:
            return None
        try:
            found = self.shots.get(result.product, getattr(result, "reference_version", None))
            if found is None:
                return None
            ref_id, images, names = found
            why = explain(result.image.shape, result.anomaly_map, result.nearest, [im.shape[:2] for im in images],
                          shot_names=names)
            crop, ref_crop = why_crops(result.image, images[why.shot], why)
            return PreparedWhy(why, ref_id, self.db.images.put_image(crop, ".png"),
                               self.db.images.put_image(ref_crop, ".png"))
        except Exception:  # the why is an aid: never lose the defect row over it
            log.exception("frame %s: the why view could not be made", getattr(result, "frame_index", "?"))
            return None

    def add(self, session, defect_id: int, prepared: PreparedWhy) -> None:
        w = prepared.why
        add_defect_why(session, defect_id, shot_index=w.shot, shot_name=w.shot_name, details=w.to_dict(),
                       crop=prepared.crop, ref_crop=prepared.ref_crop, reference_set_id=prepared.reference_set_id)
