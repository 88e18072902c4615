"""Which profile the station runs, by content hash: a profile that changed since it last ran is audited.

A user profile that shadows a shipped one, or a profile edited on disk, changes nothing that a
PIN could guard (anyone who can write the file can change it), so the station records it: the
first run of a profile name stores its sha256 ("profile_recorded"); a later run with other
content stores "profile_changed" with both hashes and the file, and the GUI shows it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from resad_station.profiles import Profile, profile_to_yaml
from resad_station.storage import repository as repo

ACTOR = "system:station"
ACTIONS = ("profile_recorded", "profile_changed")


def profile_sha256(profile: Profile) -> str:
    """sha256 of the profile file's bytes (of its YAML dump when it has no file)."""
    if profile.source_path is not None:
        try:
            return hashlib.sha256(profile.source_path.read_bytes()).hexdigest()
        except OSError:
            pass
    return hashlib.sha256(profile_to_yaml(profile).encode("utf-8")).hexdigest()


def _last_hash(session, name: str) -> str | None:
    events = [e for action in ACTIONS for e in repo.list_audit_events(session, action=action, limit=500)]
    events.sort(key=lambda e: (e.time, e.id), reverse=True)
    for event in events:
        if event.details.get("profile") == name:
            return event.details.get("sha256")
    return None


def record_profile(db, profile: Profile) -> dict[str, Any] | None:
    """Audit the profile when it is new or changed; returns the change's details (None when unchanged)."""
    digest = profile_sha256(profile)
    details = {"profile": profile.name, "product": profile.product, "sha256": digest,
               "path": str(profile.source_path) if profile.source_path else None}
    with db.session() as s:
        previous = _last_hash(s, profile.name)
        if previous == digest:
            return None
        if previous is None:
            repo.add_audit_event(s, ACTOR, "profile_recorded", details)
            return None
        details["previous_sha256"] = previous
        repo.add_audit_event(s, ACTOR, "profile_changed", details)
    return details
