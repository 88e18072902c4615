"""Export the defects matching a gallery filter: a CSV, or a zip with the CSV and the image files.

Runs in a worker thread (TaskRunner) with its own database session; walks the rows by keyset
pages so 100,000 rows never sit in memory at once.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Iterator

from resad_station.storage.database import Database
from resad_station.storage.repository import list_products, query_defects
from ui.defect_model import DefectFilter, DefectRow

EXPORT_PAGE = 1000
CSV_COLUMNS = ("id", "time", "product", "camera", "verdict", "score", "label", "reviewer", "image", "heatmap", "note")


def iter_defects(db: Database, defect_filter: DefectFilter) -> Iterator[DefectRow]:
    before = None
    args = defect_filter.query_args()
    while True:
        with db.session() as s:
            rows, _ = query_defects(s, **args, before=before, limit=EXPORT_PAGE)
        if not rows:
            return
        for r in rows:
            yield DefectRow.of(r)
        before = (rows[-1].time, rows[-1].id)


def _csv_line(row: DefectRow, products: dict[int, str]) -> list:
    return [row.id, row.time.isoformat(), products.get(row.product_id, row.product_id), row.camera, row.verdict,
            f"{row.score:.6g}", row.label, row.reviewer or "", row.image_path, row.heatmap_path or "", row.note or ""]


def _product_names(db: Database) -> dict[int, str]:
    with db.session() as s:
        return {p.id: p.name for p in list_products(s)}


def export_csv(db: Database, defect_filter: DefectFilter, path: Path) -> int:
    products = _product_names(db)
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in iter_defects(db, defect_filter):
            writer.writerow(_csv_line(row, products))
            count += 1
    return count


def export_zip(db: Database, defect_filter: DefectFilter, path: Path) -> int:
    """defects.csv plus images/<file> and heatmaps/<file>; files are content-addressed, so each once."""
    products = _product_names(db)
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(CSV_COLUMNS)
    written: set[str] = set()
    count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:  # PNG/JPEG: already compressed
        for row in iter_defects(db, defect_filter):
            writer.writerow(_csv_line(row, products))
            for folder, rel in (("images", row.image_path), ("heatmaps", row.heatmap_path)):
                if rel and rel not in written and db.images.path(rel).is_file():
                    archive.write(db.images.path(rel), f"{folder}/{rel}")
                    written.add(rel)
            count += 1
        archive.writestr("defects.csv", table.getvalue())
    return count
