"""Inspection rows (bulk, from the recorder) and defects (the review gallery's rows)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from resad_station.storage.errors import NotFoundError
from resad_station.storage.image_store import StoredFile
from resad_station.storage.models import LABELS, VERDICTS, Defect, Inspection, Product, utc_now
from resad_station.storage.repository.common import as_list, as_utc, product_id_of, require_one_of


@dataclass(frozen=True)
class InspectionRecord:
    """One inspection row as the recorder hands it over (time: datetime or time.time())."""

    product_id: int
    camera: str
    time: datetime | float
    score: float
    verdict: str
    latency_ms: float
    frame_index: int
    station: str = ""  # the station that inspected it (a plant's stations share one database)

    def as_row(self) -> dict:
        require_one_of("verdict", self.verdict, VERDICTS)
        return {
            "product_id": self.product_id, "station": self.station, "camera": self.camera, "time": as_utc(self.time),
            "score": float(self.score), "verdict": self.verdict, "latency_ms": float(self.latency_ms),
            "frame_index": int(self.frame_index),
        }


def add_inspection(session: Session, record: InspectionRecord) -> Inspection:
    """Insert one inspection and return it with its id (to link a defect to it)."""
    inspection = Inspection(**record.as_row())
    session.add(inspection)
    session.flush()
    return inspection


def add_inspections(session: Session, records: Iterable[InspectionRecord]) -> int:
    """Bulk-insert inspections (one executemany); returns how many were written."""
    rows = [r.as_row() for r in records]
    if rows:
        session.execute(sa.insert(Inspection), rows)
    return len(rows)


def count_inspections(session: Session, product: Product | int | str | None = None, *,
                      station: str | None = None, camera: str | None = None) -> dict[str, int]:
    """Inspection counts per verdict, for one product or all (and one station / camera or all)."""
    query = sa.select(Inspection.verdict, sa.func.count()).group_by(Inspection.verdict)
    if product is not None:
        query = query.where(Inspection.product_id == product_id_of(session, product))
    if station is not None:
        query = query.where(Inspection.station == station)
    if camera is not None:
        query = query.where(Inspection.camera == camera)
    return {verdict: 0 for verdict in VERDICTS} | dict(session.execute(query).all())


def add_defect(
    session: Session,
    *,
    product_id: int,
    camera: str,
    time: datetime | float,
    verdict: str,
    score: float,
    image: StoredFile,
    heatmap: StoredFile | None = None,
    raw_map: StoredFile | None = None,
    inspection_id: int | None = None,
    note: str | None = None,
    station: str = "",
    reason: str | None = None,
    reference: str | None = None,
) -> Defect:
    """Insert a defect row. Store its files (ImageStore.put_*) BEFORE calling this.

    `reference` is the id the verdict message carried (unique: a second row with it is refused)."""
    require_one_of("verdict", verdict, VERDICTS)
    defect = Defect(
        product_id=product_id, station=station, camera=camera, time=as_utc(time), verdict=verdict, score=float(score),
        image_path=image.path, image_sha256=image.sha256,
        heatmap_path=heatmap.path if heatmap else None, heatmap_sha256=heatmap.sha256 if heatmap else None,
        raw_map_path=raw_map.path if raw_map else None, raw_map_sha256=raw_map.sha256 if raw_map else None,
        inspection_id=inspection_id, label="none", note=note, reason=reason or None,
        reference=normalize_reference(reference) if reference else None,
    )
    session.add(defect)
    session.flush()
    return defect


def normalize_reference(text: str) -> str:
    """A defect reference as stored (lower case, no surrounding spaces): what a reviewer pastes matches."""
    return text.strip().lower()


def get_defect(session: Session, defect_id: int) -> Defect:
    defect = session.get(Defect, defect_id)
    if defect is None:
        raise NotFoundError(f"no defect with id {defect_id}")
    return defect


def label_defect(session: Session, defect_id: int, label: str, reviewer: str, note: str | None = None) -> Defect:
    """Record a review: label defect | false_alarm (or none to clear), who, when, why."""
    require_one_of("label", label, LABELS)
    defect = get_defect(session, defect_id)
    defect.label = label
    if label == "none":
        defect.reviewer, defect.reviewed_at = None, None
    else:
        defect.reviewer, defect.reviewed_at = reviewer, utc_now()
    if note is not None:
        defect.note = note
    session.flush()
    return defect


def _defect_filters(
    session: Session,
    product: Product | int | str | None,
    camera: str | None,
    station: str | None,
    since: datetime | float | None,
    until: datetime | float | None,
    verdict: str | Sequence[str] | None,
    label: str | Sequence[str] | None,
    reference: str | None = None,
) -> list[sa.ColumnElement[bool]] | None:
    """WHERE clauses of a defect query; None when it can match nothing (unknown product)."""
    clauses: list[sa.ColumnElement[bool]] = []
    if reference is not None:  # as a message carried it, or typed: case and spaces do not matter
        clauses.append(Defect.reference == normalize_reference(reference))
    if product is not None:
        product_id = product_id_of(session, product)
        if product_id is None:
            return None
        clauses.append(Defect.product_id == product_id)
    if station is not None:
        clauses.append(Defect.station == station)
    if camera is not None:
        clauses.append(Defect.camera == camera)
    if since is not None:
        clauses.append(Defect.time >= as_utc(since))
    if until is not None:
        clauses.append(Defect.time < as_utc(until))
    for column, values, allowed, what in ((Defect.verdict, verdict, VERDICTS, "verdict"),
                                          (Defect.label, label, LABELS, "label")):
        listed = as_list(values)
        if listed is not None:
            for value in listed:
                require_one_of(what, value, allowed)
            clauses.append(column == listed[0] if len(listed) == 1 else column.in_(listed))
    return clauses


def query_defects(
    session: Session,
    *,
    product: Product | int | str | None = None,
    camera: str | None = None,
    station: str | None = None,
    since: datetime | float | None = None,
    until: datetime | float | None = None,
    verdict: str | Sequence[str] | None = None,
    label: str | Sequence[str] | None = None,
    reference: str | None = None,
    before: tuple[datetime, int] | None = None,
    offset: int = 0,
    limit: int = 50,
    newest_first: bool = True,
) -> tuple[list[Defect], int]:
    """One page of defects matching the filters, and how many match in all.

    Pages are ordered by (time, id), newest first by default; `since` is inclusive, `until`
    exclusive. For deep pages pass `before=(time, id)` of the last row shown (keyset paging,
    newest_first only) instead of a large offset. The total ignores `before` and `offset`.
    `reference` finds the defect a verdict message named (its `defect_id`).
    """
    if limit < 0 or offset < 0:
        raise ValueError(f"offset and limit must be >= 0 (got offset={offset}, limit={limit})")
    clauses = _defect_filters(session, product, camera, station, since, until, verdict, label, reference)
    if clauses is None:
        return [], 0
    total = session.scalar(sa.select(sa.func.count()).select_from(Defect).where(*clauses)) or 0
    order = (Defect.time.desc(), Defect.id.desc()) if newest_first else (Defect.time.asc(), Defect.id.asc())
    page = sa.select(Defect).where(*clauses).order_by(*order).offset(offset).limit(limit)
    if before is not None:
        if not newest_first:
            raise ValueError("keyset paging (before=) pages newest first only")
        before_time, before_id = as_utc(before[0]), before[1]
        page = page.where(sa.or_(Defect.time < before_time, sa.and_(Defect.time == before_time, Defect.id < before_id)))
    return list(session.scalars(page)), total


def list_cameras(session: Session) -> list[tuple[str, str]]:
    """Every (station, camera) that has logged a defect, sorted: the review screen's filter choices."""
    query = sa.select(Defect.station, Defect.camera).distinct().order_by(Defect.station, Defect.camera)
    return [(station, camera) for station, camera in session.execute(query)]
