"""Logged defects as a CSV, or a zip with the CSV, the images and the heatmaps.

Rows are walked newest first in keyset pages, so a large table never sits in memory; each page
is read on its own read-only session, so an export never blocks the recorder's writes. In the
zip, files keep their content-addressed names (images/ab/abcd....png), so a frame shared by
several rows is stored once, and the CSV's image/heatmap columns are paths inside the zip.
A row whose file is missing on disk is still exported (its column is empty, `missing` says why).

Hardening: a file reached through a link that leaves the image store is never read (it counts
as missing: "outside the store"); a row that cannot be exported is skipped and listed in
`skipped`, the rest is written; the output is written under a temporary name and renamed, so
an export that fails leaves no partial file; text cells that a spreadsheet would run as a
formula (=, +, -, @, tab, CR) are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from resad_station.storage import repository as repo

PAGE = 500
COLUMNS = ("id", "reference", "time", "product", "station", "camera", "verdict", "score", "label", "reviewer", "reviewed_at",
           "source", "image", "heatmap", "raw_map", "missing")
WHY_COLUMNS = ("why_shot", "why_shot_name", "why_region", "why_reference")  # zip only: the "why" view's crops


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


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate (a camera file name "=HYPERLINK(...)") gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        try:
            float(value)
            return value  # a negative number is a number
        except ValueError:
            return "'" + value
    return value


def _stored_file(db, rel: str) -> tuple[Path | None, str]:
    """The file of a row inside the image store, or (None, why not): missing, or outside via a link."""
    path = db.images.path(rel)
    root = db.images.root.resolve()
    if not path.resolve().is_relative_to(root):
        return None, "outside the store"
    if not path.is_file():
        return None, "missing"
    return path, ""


@contextmanager
def _replaced_at_end(out: str | Path):
    """Yield a temp path beside `out`; rename it to `out` only when the block succeeded."""
    out = Path(out)
    temp = out.with_name(f".{out.name}.partial")
    try:
        yield temp
        os.replace(temp, out)
    finally:
        if temp.exists():
            temp.unlink()


def _row(defect, product: str, files: dict[str, str], missing: list[str]) -> list[Any]:
    return [_cell(v) for v in [
        defect.id, defect.reference or "", defect.time.isoformat(), product, defect.station, defect.camera, defect.verdict, f"{defect.score:.6g}",
        defect.label, defect.reviewer or "", defect.reviewed_at.isoformat() if defect.reviewed_at else "",
        defect.note or "", files.get("image", ""), files.get("heatmap", ""), files.get("raw_map", ""),
        ";".join(missing),
    ]]


def _files_of(defect) -> dict[str, str | None]:
    return {"image": defect.image_path, "heatmap": defect.heatmap_path, "raw_map": defect.raw_map_path}


def export_csv(db, out: str | Path, skipped: list[tuple[int, str]] | None = None, **filters: Any) -> int:
    """Write the CSV (paths relative to the image store); returns the number of rows.

    Rows that cannot be exported are left out and appended to `skipped` as (defect id, why).
    """
    count = 0
    skipped = [] if skipped is None else skipped
    with _replaced_at_end(out) as temp, open(temp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for defect, product in iter_defects(db, **filters):
            try:
                files = {k: v for k, v in _files_of(defect).items() if v}
                missing = [f"{k} {why}" if why != "missing" else k
                           for k, v in files.items() for _, why in [_stored_file(db, v)] if why]
                row = _row(defect, product, files, missing)
            except Exception as exc:  # noqa: BLE001 (one bad row must not lose the export)
                skipped.append((defect.id, f"{type(exc).__name__}: {exc}"))
                continue
            writer.writerow(row)
            count += 1
    return count


def _with_whys(db, rows: Iterator[tuple[Any, str]]) -> Iterator[tuple[Any, str, Any]]:
    """(defect, product, its defect_why row or None), the whys read a page at a time."""
    from resad_station.storage.repository.why import defect_whys

    page: list[tuple[Any, str]] = []
    for item in rows:
        page.append(item)
        if len(page) == PAGE:
            yield from _page_whys(db, page, defect_whys)
            page = []
    yield from _page_whys(db, page, defect_whys)


def _page_whys(db, page, defect_whys):
    with db.read_session() as s:
        whys = defect_whys(s, [d.id for d, _ in page])
    for defect, product in page:
        yield defect, product, whys.get(defect.id)


def export_zip(db, out: str | Path, include_raw_maps: bool = False, skipped: list[tuple[int, str]] | None = None,
               **filters: Any) -> int:
    """Write defects.csv + images/ + heatmaps/ (+ raw_maps/) + why/ (the region and reference crops of the
    "why" view) into a zip; returns the number of rows.

    Rows that cannot be exported are left out and appended to `skipped` as (defect id, why).
    """
    skipped = [] if skipped is None else skipped
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(COLUMNS + WHY_COLUMNS)
    stored: set[str] = set()
    count = 0
    folders = {"image": "images", "heatmap": "heatmaps", "raw_map": "raw_maps", "why_region": "why", "why_reference": "why"}
    with _replaced_at_end(out) as temp, zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_STORED) as archive:
        for defect, product, explained in _with_whys(db, iter_defects(db, **filters)):  # (PNG/JPEG are compressed already)
            try:
                files: dict[str, str] = {}
                missing: list[str] = []
                named = _files_of(defect) | ({"why_region": explained.crop_path, "why_reference": explained.ref_crop_path}
                                             if explained else {})
                for kind, rel in named.items():
                    if not rel or (kind == "raw_map" and not include_raw_maps):
                        continue
                    source, why = _stored_file(db, rel)
                    if source is None:
                        missing.append(kind if why == "missing" else f"{kind} {why}")
                        continue
                    inside = f"{folders[kind]}/{rel}"
                    if inside not in stored:
                        archive.writestr(inside, source.read_bytes())  # read first: a failed read adds nothing
                        stored.add(inside)
                    files[kind] = inside
                why_cells = ([explained.shot_index + 1, explained.shot_name, files.get("why_region", ""),
                              files.get("why_reference", "")] if explained else [""] * 4)
                row = _row(defect, product, files, missing) + why_cells
            except Exception as exc:  # noqa: BLE001 (one bad row must not lose the export)
                skipped.append((defect.id, f"{type(exc).__name__}: {exc}"))
                continue
            writer.writerow(row)
            count += 1
        archive.writestr("defects.csv", table.getvalue())
    return count
