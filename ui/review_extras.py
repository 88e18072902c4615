"""Review's "why" detail and its shift-report button (kept apart from the gallery's code)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from resad_station.reports import gather, write_pdf
from resad_station.storage.repository.why import get_defect_why
from resad_station.why.explain import why_caption
from ui.thumbnail_loader import read_rgb

DEFAULT_REPORT_PERIOD = timedelta(hours=8)  # a shift, when the filter says "all time"


def load_why(db, defect_id: int) -> tuple[np.ndarray | None, np.ndarray | None, str] | None:
    """The defect's stored why: (region crop, reference crop, caption), or None if it has none."""
    with db.read_session() as s:
        row = get_defect_why(s, defect_id)
        if row is None:
            return None
        caption = why_caption(row.shot_index, row.shot_name)
        paths = (row.crop_path, row.ref_crop_path)
    crop, ref = (read_rgb(db.images.path(p)) for p in paths)
    return crop, ref, caption


def report_period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or datetime.now(timezone.utc)
    return since or until - DEFAULT_REPORT_PERIOD, until


def write_report(db, path: Path, product: str | None, since: datetime | None, until: datetime | None) -> str:
    """The shift report of the Review filter's product and period (runs in a worker thread)."""
    since, until = report_period(since, until)
    data = gather(db, since, until, product=product)
    write_pdf(db, data, path)
    return f"shift report written to {path}: {data.total} recorded inspections, {data.counts.get('fail', 0)} fails"
