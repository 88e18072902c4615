"""Reference sets and their calibration carry a keyed MAC, so an edit outside the station shows.

The MAC (HMAC-SHA256 with the station secret, resad_station/access/secret.py) covers the features
blob's sha256, the calibration (thresholds included), the product row, version, input size and
engine. It is stored in the calibration JSON under "mac". Changing the thresholds through the
station reseals them (and is audited); editing `station.db` by hand leaves a MAC that no longer
verifies, and the station refuses to inspect with that set. `db check` verifies every set.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

MAC_KEY = "mac"
SEAL_INFO = "seal_key"  # Session.info key the Database puts its secret under


def _message(features: bytes, calibration: dict[str, Any], product_id: int, version: int, input_size: int,
             backbone: str, engine_version: str) -> bytes:
    body = {k: v for k, v in calibration.items() if k != MAC_KEY}
    fields = {"product_id": int(product_id), "version": int(version), "input_size": int(input_size),
              "backbone": backbone, "engine_version": engine_version, "calibration": body,
              "features_sha256": hashlib.sha256(bytes(features or b"")).hexdigest()}
    return b"resad-station/reference-set/v1\0" + json.dumps(fields, sort_keys=True, separators=(",", ":"),
                                                           allow_nan=True).encode()


def mac_of(key: bytes, reference_set: Any) -> str:
    rs = reference_set
    return hmac.new(key, _message(rs.features, dict(rs.calibration or {}), rs.product_id, rs.version, rs.input_size,
                                  rs.backbone, rs.engine_version), hashlib.sha256).hexdigest()


def seal(key: bytes | None, reference_set: Any) -> None:
    """Store a fresh MAC in the set's calibration (a no-op without a key)."""
    if key is None:
        return
    calibration = {k: v for k, v in dict(reference_set.calibration or {}).items() if k != MAC_KEY}
    reference_set.calibration = calibration
    reference_set.calibration = calibration | {MAC_KEY: mac_of(key, reference_set)}


def seal_problem(key: bytes | None, reference_set: Any) -> str | None:
    """None when the set's MAC verifies; otherwise what is wrong, for a message."""
    if key is None:
        return "cannot be verified (no station secret)"
    stored = dict(reference_set.calibration or {}).get(MAC_KEY)
    if not stored:
        return "carries no MAC (made before sets were sealed, or the MAC was removed): enroll it again"
    if not hmac.compare_digest(str(stored), mac_of(key, reference_set)):
        return ("its MAC does not verify: the features or calibration were changed outside the station "
                "(or it comes from another station's database)")
    return None
