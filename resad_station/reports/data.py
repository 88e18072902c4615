"""The numbers of a shift report, read from the station database (read-only sessions).

Counts come from inspection rows. Passes are recorded at the profile's recording.pass_sampling
(e.g. 1 in 10), so pass counts and rates are of RECORDED rows; the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from resad_station.storage.models import AuditEvent, Defect, Inspection, Product, ReferenceSet, utc_now
from resad_station.storage.repository.common import as_utc

VERDICTS = ("pass", "uncertain", "fail")
TREND_BINS = 16
WORST = 8
ALARM_ACTIONS = ("alarm_raised", "alarm_acknowledged", "alarm_cleared")
DRIFT_ACTIONS = ("drift_raised", "drift_cleared")
NOT_CONFIGURATION = set(ALARM_ACTIONS) | set(DRIFT_ACTIONS) | {"label_defect", "recorder_skipped"}


@dataclass(frozen=True)
class AlarmRow:
    raised: datetime
    camera: str
    product: str
    acknowledged: datetime | None  # None: never acknowledged in the period
    cleared: datetime | None
    by: str = ""

    @property
    def seconds_to_acknowledge(self) -> float | None:
        return None if self.acknowledged is None else (self.acknowledged - self.raised).total_seconds()


@dataclass
class ShiftData:
    since: datetime
    until: datetime
    product: str | None
    camera: str | None
    counts: dict[str, int] = field(default_factory=dict)  # verdict -> recorded inspections
    trend: list[tuple[datetime, int, int]] = field(default_factory=list)  # (bin start, inspections, fails)
    scores: dict[str, list[float]] = field(default_factory=dict)  # product -> inspection scores
    calibrations: dict[str, dict[str, Any]] = field(default_factory=dict)  # product -> active calibration
    worst: list[Defect] = field(default_factory=list)
    products: dict[int, str] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)  # label -> defects of the period
    labelled: list[Defect] = field(default_factory=list)
    alarms: list[AlarmRow] = field(default_factory=list)
    drift: list[AuditEvent] = field(default_factory=list)
    changes: list[AuditEvent] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def rate(self, verdict: str) -> float:
        return self.counts.get(verdict, 0) / self.total if self.total else 0.0

    @property
    def false_alarm_rate(self) -> float | None:
        """Of the reviewed defects, the share reviewers marked as false alarms."""
        reviewed = self.labels.get("defect", 0) + self.labels.get("false_alarm", 0)
        return self.labels.get("false_alarm", 0) / reviewed if reviewed else None


def _actor(event: AuditEvent) -> str:
    return str(getattr(event, "actor", None) or getattr(event, "role", ""))


def gather(db, since: datetime, until: datetime | None = None, product: str | None = None,
           camera: str | None = None) -> ShiftData:
    until = as_utc(until) if until is not None else utc_now()
    since = as_utc(since)
    if since >= until:
        raise ValueError(f"report period: since ({since.isoformat()}) must be before until ({until.isoformat()})")
    data = ShiftData(since, until, product, camera)
    with db.read_session() as s:
        data.products = {p.id: p.name for p in s.scalars(sa.select(Product))}
        ids = {v: k for k, v in data.products.items()}
        if product is not None and product not in ids:
            raise ValueError(f"--product {product!r}: no such product (known: {', '.join(sorted(ids)) or 'none'})")
        insp = [Inspection.time >= since, Inspection.time < until]
        dfct = [Defect.time >= since, Defect.time < until]
        if product is not None:
            insp.append(Inspection.product_id == ids[product])
            dfct.append(Defect.product_id == ids[product])
        if camera is not None:
            insp.append(Inspection.camera == camera)
            dfct.append(Defect.camera == camera)
        for verdict, n in s.execute(sa.select(Inspection.verdict, sa.func.count()).where(*insp).group_by(Inspection.verdict)):
            data.counts[verdict] = int(n)
        data.counts = {v: data.counts.get(v, 0) for v in VERDICTS}
        data.trend = _trend(s, insp, since, until)
        for pid, score in s.execute(sa.select(Inspection.product_id, Inspection.score).where(*insp)):
            data.scores.setdefault(data.products[pid], []).append(float(score))
        for name in data.scores:
            rs = s.scalars(sa.select(ReferenceSet).where(ReferenceSet.product_id == ids[name], ReferenceSet.active)).first()
            if rs is not None:
                data.calibrations[name] = dict(rs.calibration or {})
        data.worst = list(s.scalars(sa.select(Defect).where(*dfct).order_by(Defect.score.desc(), Defect.id).limit(WORST)))
        for label, n in s.execute(sa.select(Defect.label, sa.func.count()).where(*dfct).group_by(Defect.label)):
            data.labels[label] = int(n)
        data.labelled = list(s.scalars(sa.select(Defect).where(*dfct, Defect.label != "none").order_by(Defect.time)))
        events = list(s.scalars(sa.select(AuditEvent).where(AuditEvent.time >= since, AuditEvent.time < until)
                                .order_by(AuditEvent.time, AuditEvent.id)))
    events = [e for e in events if _matches(e, product, camera)]
    data.alarms = _alarms(events)
    data.drift = [e for e in events if e.action in DRIFT_ACTIONS]
    data.changes = [e for e in events if e.action not in NOT_CONFIGURATION]
    return data


def _matches(event: AuditEvent, product: str | None, camera: str | None) -> bool:
    d = event.details or {}
    # configuration events name their product in different keys; those naming none are kept
    named = d.get("product") or d.get("to")
    if product is not None and named is not None and product not in (d.get("product"), d.get("to"), d.get("from")):
        return False
    return camera is None or d.get("camera") in (None, camera)


def _trend(s, where, since: datetime, until: datetime) -> list[tuple[datetime, int, int]]:
    step = (until - since) / TREND_BINS
    bins = [[since + i * step, 0, 0] for i in range(TREND_BINS)]
    for t, verdict in s.execute(sa.select(Inspection.time, Inspection.verdict).where(*where)):
        i = min(TREND_BINS - 1, int((as_utc(t) - since) / step)) if step > timedelta(0) else 0
        bins[i][1] += 1
        bins[i][2] += verdict == "fail"
    return [tuple(b) for b in bins]


def _alarms(events: list[AuditEvent]) -> list[AlarmRow]:
    """Raised alarms with the acknowledgement and clearing that followed (per camera and product)."""
    open_: dict[tuple, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for e in events:
        if e.action not in ALARM_ACTIONS:
            continue
        d = e.details or {}
        key = (d.get("camera", ""), d.get("product", ""))
        if e.action == "alarm_raised":
            row = {"raised": e.time, "camera": key[0], "product": key[1], "acknowledged": None, "cleared": None, "by": ""}
            rows.append(row)
            open_[key] = row
        elif key in open_:
            row = open_[key]
            if e.action == "alarm_acknowledged" and row["acknowledged"] is None:
                row["acknowledged"], row["by"] = e.time, _actor(e)
            elif e.action == "alarm_cleared":
                row["cleared"] = e.time
                del open_[key]
    return [AlarmRow(**r) for r in rows]


def describe_change(event: AuditEvent) -> str:
    """One line of the audit trail for the report: what changed, in the details' own words."""
    d = dict(event.details or {})
    parts = [f"{k}={v}" for k, v in d.items() if not isinstance(v, (list, dict)) or len(str(v)) < 60]
    return f"{event.action} by {_actor(event)}: " + ", ".join(parts)
