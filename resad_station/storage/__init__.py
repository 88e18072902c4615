"""Station storage: SQLAlchemy database (Alembic migrations inside), image files, repository.

    db = open_station_database(data_dir, db_url)      # upgrades an older schema on open
    with db.session() as s:
        product = repository.get_or_create_product(s, "pcb-demo")
"""

from __future__ import annotations

import os
from pathlib import Path

from resad_station.storage import repository
from resad_station.storage.check import CheckReport, FileProblem
from resad_station.storage.database import Database
from resad_station.storage.errors import NotFoundError, SchemaTooNewError, StorageError
from resad_station.storage.image_store import ImageStore, StoredFile
from resad_station.storage.models import (
    AuditEvent,
    Defect,
    Inspection,
    Product,
    ReferenceImage,
    ReferenceSet,
)
from resad_station.storage.schema import head_revision


def open_station_database(
    data_dir: str | os.PathLike | None = None, db_url: str | None = None, *, auto_upgrade: bool = True
) -> Database:
    """The station's database as the CLI flags (--data-dir, --db-url) and `<data dir>/station.yaml`
    pick it (station name, database, image folder), upgraded on open."""
    from resad_station.paths import DataDirError, check_writable, resolve_data_dir
    from resad_station.storage.location import storage_location

    try:
        folder = resolve_data_dir(data_dir)
        where = storage_location(Path(folder), db_url)
        if where.db_url.startswith("sqlite"):
            check_writable(folder)  # "read-only", not SQLite's "unable to open database file"
    except DataDirError as exc:
        raise StorageError(str(exc)) from None
    return Database(where.db_url, where.images_dir, auto_upgrade=auto_upgrade, station=where.station)


__all__ = [
    "AuditEvent", "CheckReport", "Database", "Defect", "FileProblem", "ImageStore", "Inspection",
    "NotFoundError", "Product", "ReferenceImage", "ReferenceSet", "SchemaTooNewError", "StorageError",
    "StoredFile", "head_revision", "open_station_database", "repository",
]
