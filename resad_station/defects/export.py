"""Logged defects as a CSV, or a zip with the CSV, the images and the heatmaps.

Rows are walked newest first in keyset pages, so a large table never sits in memory; each page
is read on its own read-only session, so an export never blocks the recorder's writes. In the
zip, files keep their content-addressed names (images/ab/abcd....png), so a frame shared by
several rows is stored once, and the CSV's image/heatmap columns are paths inside the zip.
A row whose file is missing on disk is still exported (its column is empty, `missing` says why).
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any, Iterator

from resad_station.storage import repository as repo

PAGE = 500
COLUMNS = ("id", "time", "product", "camera", "verdict", "score", "label", "reviewer", "reviewed_at",
           "source", "image", "heatmap", "raw_map", "missing")


def iter_defects(db, **filters: Any) -> Iterator[tuple[Any, str]]:
    """(defect row, product name) for every defect matching `filters` (query_defects arguments)."""
    with db.read_session() as s:
        names = {p.id: p.name for p in repo.list_products(s)}
    before = None
    while True:
        with db.read_session() as s:
            rows, _ = repo.query_defects(s, **filters, before=before, limit=PAGE)
        for row in rows:
            yield row, names.get(row.product_id, str(row.product_id))
        if len(rows) < PAGE:
            return
        before = (rows[-1].time, rows[-1].id)


def _row(defect, product: str, files: dict[str, str], missing: list[str]) -> list[Any]:
    return [
        defect.id, defect.time.isoformat(), product, defect.camera, defect.verdict, f"{defect.score:.6g}",
        defect.label, defect.reviewer or "", defect.reviewed_at.isoformat() if defect.reviewed_at else "",
        defect.note or "", files.get("image", ""), files.get("heatmap", ""), files.get("raw_map", ""),
        ";".join(missing),
    ]


def _files_of(defect) -> dict[str, str | None]:
    return {"image": defect.image_path, "heatmap": defect.heatmap_path, "raw_map": defect.raw_map_path}


def export_csv(db, out: str | Path, **filters: Any) -> int:
    """Write the CSV (paths relative to the image store); returns the number of rows."""
    count = 0
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for defect, product in iter_defects(db, **filters):
            files = {k: v for k, v in _files_of(defect).items() if v}
            missing = [k for k, v in files.items() if not db.images.path(v).is_file()]
            writer.writerow(_row(defect, product, files, missing))
            count += 1
    return count


def export_zip(db, out: str | Path, include_raw_maps: bool = False, **filters: Any) -> int:
    """Write defects.csv + images/ + heatmaps/ (+ raw_maps/) into a zip; returns the number of rows."""
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(COLUMNS)
    stored: set[str] = set()
    count = 0
    folders = {"image": "images", "heatmap": "heatmaps", "raw_map": "raw_maps"}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:  # PNG/JPEG are compressed
        for defect, product in iter_defects(db, **filters):
            files: dict[str, str] = {}
            missing: list[str] = []
            for kind, rel in _files_of(defect).items():
                if not rel or (kind == "raw_map" and not include_raw_maps):
                    continue
                source = db.images.path(rel)
                if not source.is_file():
                    missing.append(kind)
                    continue
                inside = f"{folders[kind]}/{rel}"
                if inside not in stored:
                    archive.write(source, inside)
                    stored.add(inside)
                files[kind] = inside
            writer.writerow(_row(defect, product, files, missing))
            count += 1
        archive.writestr("defects.csv", table.getvalue())
    return count
