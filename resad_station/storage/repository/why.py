"""Rows of the "why" view (defect_why): one per defect at most."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from resad_station.storage.image_store import StoredFile
from resad_station.storage.models import DefectWhy


def add_defect_why(session: Session, defect_id: int, *, shot_index: int, shot_name: str, details: dict[str, Any],
                   crop: StoredFile, ref_crop: StoredFile, reference_set_id: int | None = None) -> DefectWhy:
    row = DefectWhy(defect_id=defect_id, reference_set_id=reference_set_id, shot_index=int(shot_index),
                    shot_name=shot_name, details=details, crop_path=crop.path, crop_sha256=crop.sha256,
                    ref_crop_path=ref_crop.path, ref_crop_sha256=ref_crop.sha256)
    session.add(row)
    session.flush()
    return row


def get_defect_why(session: Session, defect_id: int) -> DefectWhy | None:
    return session.scalars(sa.select(DefectWhy).where(DefectWhy.defect_id == defect_id)).first()


def defect_whys(session: Session, defect_ids: list[int]) -> dict[int, DefectWhy]:
    if not defect_ids:
        return {}
    return {w.defect_id: w for w in session.scalars(sa.select(DefectWhy).where(DefectWhy.defect_id.in_(defect_ids)))}
