"""Shared fixtures. Keep small: each fixture here is used by several test files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


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
