"""Retention: drop inspections and defects older than N days, then the files nobody uses.

Rows go first (committed), files after: a crash in between leaves unreferenced files (harmless)
rather than rows pointing at deleted files. Files are content-addressed and may be shared
(a looping replay, a defect taught back as a reference), so a file is only deleted when no
remaining row points at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from resad_station.storage.models import Defect, DefectWhy, Inspection, ReferenceImage, utc_now
from resad_station.storage.repository.common import as_utc, batches

if TYPE_CHECKING:
    from resad_station.storage.database import Database


@dataclass
class RetentionResult:
    inspections: int = 0
    defects: int = 0
    orphan_files: list[str] = field(default_factory=list)  # no row points at these anymore
    files_deleted: int = 0


_DEFECT_FILE_COLUMNS = (Defect.image_path, Defect.heatmap_path, Defect.raw_map_path)
_WHY_FILE_COLUMNS = (DefectWhy.crop_path, DefectWhy.ref_crop_path)


def delete_older_than(
    session: Session, days: float, *, now: datetime | float | None = None, keep_reviewed: bool = True
) -> RetentionResult:
    """Delete rows older than `days`; returns counts and the files left unreferenced.

    keep_reviewed: defects with a review label (defect / false_alarm) are the station's
    labelled history and are kept (their inspection link is cleared instead).
    Does not delete files: see apply_retention, which does so after the commit.
    """
    if days < 0:
        raise ValueError(f"days must be >= 0 (got {days})")
    cutoff = (as_utc(now) if now is not None else utc_now()) - timedelta(days=days)
    where = [Defect.time < cutoff] + ([Defect.label == "none"] if keep_reviewed else [])
    candidates: set[str] = set()
    for row in session.execute(sa.select(*_DEFECT_FILE_COLUMNS).where(*where)):
        candidates.update(p for p in row if p is not None)
    for row in session.execute(sa.select(*_WHY_FILE_COLUMNS).join(Defect, DefectWhy.defect_id == Defect.id).where(*where)):
        candidates.update(row)  # defect_why rows go with their defect (ON DELETE CASCADE)
    result = RetentionResult()
    result.defects = session.execute(sa.delete(Defect).where(*where)).rowcount or 0
    # defect.inspection_id is ON DELETE SET NULL: kept defects survive their inspection.
    result.inspections = session.execute(sa.delete(Inspection).where(Inspection.time < cutoff)).rowcount or 0
    result.orphan_files = sorted(candidates - _still_referenced(session, sorted(candidates)))
    session.flush()
    return result


def _still_referenced(session: Session, paths: list[str]) -> set[str]:
    used: set[str] = set()
    for chunk in batches(paths):
        for column in (*_DEFECT_FILE_COLUMNS, *_WHY_FILE_COLUMNS, ReferenceImage.path):
            used.update(session.scalars(sa.select(column).where(column.in_(chunk)).distinct()))
    return used


# An orphaned file stored or reused this recently is kept (deleted by a later run): another
# station sharing the image folder may have just stored the same content for a row not yet committed.
FILE_GRACE_S = 3600.0


def apply_retention(db: "Database", days: float, *, keep_reviewed: bool = True,
                    file_grace_s: float = FILE_GRACE_S) -> RetentionResult:
    """delete_older_than in its own transaction, then delete the orphaned files not used lately."""
    with db.session() as session:
        result = delete_older_than(session, days, keep_reviewed=keep_reviewed)
    result.files_deleted = sum(db.images.delete(path, unused_for_s=file_grace_s) for path in result.orphan_files)
    return result
