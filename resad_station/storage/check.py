"""`Database.check()`: is the database sound and is every file its rows point at intact?"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from resad_station.storage.image_store import ImageStore
from resad_station.storage.models import Defect, DefectWhy, ReferenceImage, ReferenceSet
from resad_station.storage.schema import head_revision
from resad_station.storage.sealing import seal_problem


class Checked(Protocol):
    """What the check needs of a Database (database.py calls the check, so it is not imported here)."""

    engine: sa.Engine
    images: ImageStore
    is_sqlite: bool
    seal_key: bytes | None

    def ensure_not_newer(self) -> str | None: ...

    def session(self) -> AbstractContextManager[Session]: ...

    def read_session(self) -> AbstractContextManager[Session]: ...


@dataclass(frozen=True)
class FileProblem:
    table: str  # "defect" or "reference_image"
    row_id: int
    column: str  # image_path, heatmap_path, raw_map_path or path
    path: str
    problem: str  # "missing" or "mismatch"

    def __str__(self) -> str:
        what = "is missing" if self.problem == "missing" else "does not match its recorded sha256"
        return f"{self.table} {self.row_id}: {self.column} {self.path} {what}"


@dataclass
class CheckReport:
    revision: str | None = None
    head: str | None = None
    integrity: list[str] = field(default_factory=list)  # SQLite integrity/foreign-key findings
    files: list[FileProblem] = field(default_factory=list)
    files_checked: int = 0
    reference_sets: list[str] = field(default_factory=list)  # blobs that do not load, MACs that do not verify
    reference_sets_checked: int = 0
    stale_temp_files: int = 0  # left by a crash mid-write; harmless, not a problem

    @property
    def missing(self) -> list[FileProblem]:
        return [p for p in self.files if p.problem == "missing"]

    @property
    def mismatched(self) -> list[FileProblem]:
        return [p for p in self.files if p.problem == "mismatch"]

    @property
    def ok(self) -> bool:
        return not self.integrity and not self.files and not self.reference_sets and self.revision == self.head

    def problems(self) -> list[str]:
        lines = list(self.integrity)
        if self.revision != self.head:
            lines.append(f"schema revision {self.revision!r} is not the app's {self.head!r}: run `db upgrade`")
        return lines + self.reference_sets + [str(p) for p in self.files]

    def summary(self) -> str:
        state = "ok" if self.ok else f"{len(self.problems())} problem(s)"
        return (f"database check: {state}; schema {self.revision}; {self.files_checked} file(s) verified; "
                f"{len(self.missing)} missing, {len(self.mismatched)} mismatched; {self.reference_sets_checked} "
                f"reference set(s) verified, {len(self.reference_sets)} bad")


def _sqlite_integrity(db: Checked) -> list[str]:
    findings = []
    with db.engine.connect() as conn:
        rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            findings += [f"integrity_check: {r}" for r in rows]
        for table, rowid, parent, _ in conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall():
            findings.append(f"foreign_key_check: {table} row {rowid} points at a missing {parent} row")
    return findings


def _file_columns() -> list[tuple[str, type, str, str]]:
    return [
        ("defect", Defect, "image_path", "image_sha256"),
        ("defect", Defect, "heatmap_path", "heatmap_sha256"),
        ("defect", Defect, "raw_map_path", "raw_map_sha256"),
        ("reference_image", ReferenceImage, "path", "sha256"),
        ("defect_why", DefectWhy, "crop_path", "crop_sha256"),
        ("defect_why", DefectWhy, "ref_crop_path", "ref_crop_sha256"),
    ]


def _check_reference_sets(db: Checked) -> tuple[list[str], int]:
    """Every reference set: its features blob loads (engine format and hash) and its MAC verifies."""
    from engine import EngineError, ReferenceSet as EngineReferences

    problems, checked = [], 0
    with db.read_session() as session:
        query = sa.select(ReferenceSet).order_by(ReferenceSet.id).execution_options(yield_per=20)
        for rs in session.scalars(query):
            checked += 1
            name = f"reference_set {rs.id} (product id {rs.product_id}, v{rs.version})"
            try:
                EngineReferences.from_bytes(rs.features)
            except (EngineError, ValueError) as exc:
                problems.append(f"{name}: features do not load: {exc}")
            problem = seal_problem(db.seal_key, rs)
            if problem:
                problems.append(f"{name}: {problem}")
            session.expunge(rs)  # blobs are large: keep one in memory at a time
    return problems, checked


def check_database(db: Checked) -> CheckReport:
    report = CheckReport(revision=db.ensure_not_newer(), head=head_revision())
    if db.is_sqlite:
        report.integrity = _sqlite_integrity(db)
    if report.revision is None:
        return report
    verified: dict[tuple[str, str], str | None] = {}  # shared files are hashed once
    with db.session() as session:
        for table, model, path_col, sha_col in _file_columns():
            path_attr, sha_attr = getattr(model, path_col), getattr(model, sha_col)
            query = sa.select(model.id, path_attr, sha_attr).where(path_attr.is_not(None)).order_by(model.id)
            for row_id, path, sha in session.execute(query).yield_per(1000):
                key = (path, sha)
                if key not in verified:
                    verified[key] = db.images.verify(path, sha)
                if verified[key] is not None:
                    report.files.append(FileProblem(table, row_id, path_col, path, verified[key]))
    report.files_checked = len(verified)
    report.reference_sets, report.reference_sets_checked = _check_reference_sets(db)
    report.stale_temp_files = len(db.images.stale_temp_files())
    return report
