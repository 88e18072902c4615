"""Shared fixtures. Keep small: each fixture here is used by several test files."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL server for the whole run (started on first use); skips without one."""
    import os

    from postgres_server import PostgresServer, missing_reason

    reason = missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs a PostgreSQL server: {reason}")
        pytest.skip(reason)
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path: Path):
    """A fresh, empty database's URL: a SQLite file, then a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'station.db').as_posix()}"
        return
    server = request.getfixturevalue("postgres_server")
    url = server.new_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def any_db(db_url: str, tmp_path: Path):
    """A fresh, migrated station database on each backend (SQLite and PostgreSQL) + image store."""
    from resad_station.storage import Database

    db = Database(db_url, tmp_path / "images")
    yield db
    db.close()


@pytest.fixture
def station_db(tmp_path: Path):
    """A fresh, migrated station database (real SQLite file + image store) in tmp_path."""
    from resad_station.storage import Database

    db = Database(f"sqlite:///{(tmp_path / 'station.db').as_posix()}", tmp_path / "images")
    yield db
    db.close()


@pytest.fixture(scope="session")
def rgb_texture() -> np.ndarray:
    """A real photo-like texture (skimage's astronaut), 128x128 RGB uint8."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[::4, ::4])


@pytest.fixture(autouse=True)
def _unfrozen_heap():
    """A started Station freezes the heap until it stops (resad_station/runtime/heap.py); a test
    that leaves its station running must not leave the heap frozen for the tests after it."""
    yield
    gc.unfreeze()
