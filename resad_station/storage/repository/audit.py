"""The audit trail: who changed what (thresholds, profiles, references, labels...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from resad_station.storage.models import AuditEvent, utc_now
from resad_station.storage.repository.common import as_utc


def add_audit_event(
    session: Session, actor: str, action: str, details: dict[str, Any] | None = None,
    time: datetime | float | None = None, station: str | None = None,
) -> AuditEvent:
    """Record that `actor` (who: "engineer:alice", "system") did `action`; `details` must be JSON-serialisable.

    `station` defaults to the station of the Database the session came from.
    """
    if station is None:
        station = session.info.get("station", "")
    event = AuditEvent(actor=actor, action=action, details=dict(details or {}), station=station,
                       time=as_utc(time) if time is not None else utc_now())
    session.add(event)
    session.flush()
    return event


def list_audit_events(
    session: Session, *, action: str | None = None, actor: str | None = None,
    since: datetime | float | None = None, offset: int = 0, limit: int = 100,
) -> list[AuditEvent]:
    """Audit events, newest first, optionally filtered by action, actor and start time."""
    query = sa.select(AuditEvent)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if since is not None:
        query = query.where(AuditEvent.time >= as_utc(since))
    query = query.order_by(AuditEvent.time.desc(), AuditEvent.id.desc()).offset(offset).limit(limit)
    return list(session.scalars(query))
