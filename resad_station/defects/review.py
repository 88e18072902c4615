"""Reviewing logged defects: pages of rows to look at, and labels written with their audit row.

The GUI's Review screen and `resad-station defects label` both label through here, so a label and
its audit row are one transaction whoever writes them. Rows leave as DefectRow (a plain copy, no
ORM session attached), safe to keep and to hand to another thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from resad_station.defects.export import export_csv, export_zip
from resad_station.storage import Database
from resad_station.storage import repository as repo

LABEL_ACTION = "label_defect"  # the audit action of a review label


@dataclass(frozen=True)
class DefectRow:
    """A plain copy of a defect row."""

    id: int
    product_id: int
    camera: str
    time: datetime
    verdict: str
    score: float
    image_path: str
    heatmap_path: str | None
    raw_map_path: str | None
    label: str
    reviewer: str | None
    note: str | None = field(default=None)
    station: str = ""  # a plant's stations share one database
    reason: str | None = None  # a whole-frame check's: part missing, unlike the references
    reference: str | None = None  # the defect_id its verdict message carried (None: a row older than that)

    @classmethod
    def of(cls, d: Any) -> DefectRow:
        return cls(d.id, d.product_id, d.camera, d.time, d.verdict, d.score, d.image_path, d.heatmap_path,
                   d.raw_map_path, d.label, d.reviewer, d.note, d.station, d.reason, d.reference)


def label_defect(db: Database, defect_id: int, label: str, actor: str, note: str | None = None) -> DefectRow:
    """Label a defect (defect | false_alarm, or none to clear) as `actor`, audited in the same transaction.

    Raises NotFoundError for an unknown id and ValueError for an unknown label; nothing is written then.
    """
    with db.session() as s:
        defect = repo.label_defect(s, defect_id, label, reviewer=actor, note=note)
        details: dict[str, Any] = {"defect": defect_id, "label": label}
        if note is not None:
            details["note"] = note
        repo.add_audit_event(s, actor, LABEL_ACTION, details)
        return DefectRow.of(defect)


class DefectReview:
    """The defects of one station database, as the Review screen sees them (reads, labels, exports)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def database(self) -> Database:
        """The station database (the why view and the shift report read it too)."""
        return self._db

    def page(self, *, before: tuple[datetime, int] | None = None, offset: int = 0, limit: int = 100,
             **filters: Any) -> tuple[list[DefectRow], int]:
        """One page, newest first, and the total matching (query_defects filters; one read snapshot)."""
        with self._db.read_session() as s:
            rows, total = repo.query_defects(s, **filters, before=before, offset=offset, limit=limit)
            return [DefectRow.of(r) for r in rows], total

    def cameras(self) -> list[tuple[str, str]]:
        """Every (station, camera) that has logged a defect: the filter's choices."""
        with self._db.read_session() as s:
            return repo.list_cameras(s)

    def count(self, **filters: Any) -> int:
        """How many defects match now (one COUNT, no rows read)."""
        return self.page(**filters, limit=0)[1]

    def file(self, stored_path: str) -> Path:
        """Where a row's image / heatmap file is on disk."""
        return self._db.images.path(stored_path)

    def label(self, defect_id: int, label: str, actor: str, note: str | None = None) -> DefectRow:
        return label_defect(self._db, defect_id, label, actor, note)

    def export(self, path: str | Path, csv: bool, skipped: list[tuple[int, str]] | None = None, **filters: Any) -> int:
        """CSV, or a zip with images and heatmaps; returns how many defects were exported (rows that
        could not be are appended to `skipped` as (defect id, why))."""
        export = export_csv if csv else export_zip
        return export(self._db, path, skipped=skipped, **filters)
