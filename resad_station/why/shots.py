"""Reference shot images of a product's reference-set version, read once and kept (a few per product)."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from resad_station.storage import repository as repo

KEEP_SETS = 4  # reference-set versions kept in memory (each a few shots of a few hundred kB)


class ReferenceShots:
    """(product, version) -> shot images (RGB) and names, in the reference set's order. Thread-safe."""

    def __init__(self, db) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, int | None], tuple[int, list[np.ndarray], list[str]]] = OrderedDict()

    def get(self, product: str, version: int | None = None) -> tuple[int, list[np.ndarray], list[str]] | None:
        """(reference_set_id, images, names) of that version (None: the active one); None if there is none."""
        key = (product, version)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        with self.db.read_session() as s:
            rs = (repo.active_reference_set(s, product) if version is None else
                  next((r for r in repo.list_reference_sets(s, product) if r.version == version), None))
            if rs is None:
                return None
            paths = [img.path for img in rs.images]
            names = list((rs.calibration or {}).get("shot_names", []))
            found = (rs.id, [self.db.images.read_image(p) for p in paths], names)
        with self._lock:
            self._cache[key] = found
            while len(self._cache) > KEEP_SETS:
                self._cache.popitem(last=False)
        return found
