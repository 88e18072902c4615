"""How well the station does on each product: the enrollment's own self-test numbers (whatever the
calibration stored) and the running rate of defects reviewers marked as false alarms."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from resad_station.storage.models import Defect, Product, ReferenceSet, utc_now

RECENT = timedelta(days=7)
# calibration keys that are the thresholds' own inputs, not self-test results
BASIC_KEYS = {"mean", "std", "max", "t_uncertain", "t_fail", "shot_scores", "validation_scores", "rule", "score_id",
              "method", "shot_names", "proposed_t_uncertain", "proposed_t_fail", "thresholds_set_by",
              "mac"}  # the reference set's seal, not a test result


@dataclass
class ProductHonesty:
    product: str
    version: int | None
    self_test: dict[str, Any] = field(default_factory=dict)  # extra calibration entries (e.g. a synthetic-defect self-test)
    reviewed: int = 0
    false_alarms: int = 0
    reviewed_recent: int = 0
    false_alarms_recent: int = 0

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def false_alarm_rate(self) -> float | None:
        return self._rate(self.false_alarms, self.reviewed)

    @property
    def false_alarm_rate_recent(self) -> float | None:
        return self._rate(self.false_alarms_recent, self.reviewed_recent)


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested calibration entries as (dotted name, short text) rows."""
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in flatten(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(value, float):
        return [(prefix, f"{value:.4g}")]
    if isinstance(value, list) and len(value) > 8:
        return [(prefix, f"{len(value)} values")]
    return [(prefix, str(value))]


def product_honesty(db, now: datetime | None = None) -> list[ProductHonesty]:
    now = now or utc_now()
    out = []
    with db.read_session() as s:
        for p in s.scalars(sa.select(Product).order_by(Product.name)):
            rs = s.scalars(sa.select(ReferenceSet).where(ReferenceSet.product_id == p.id, ReferenceSet.active)).first()
            cal = dict(rs.calibration or {}) if rs is not None else {}
            h = ProductHonesty(p.name, rs.version if rs else None, {k: v for k, v in cal.items() if k not in BASIC_KEYS})
            reviewed = [Defect.product_id == p.id, Defect.label.in_(("defect", "false_alarm"))]
            for label, recent, n in s.execute(
                    sa.select(Defect.label, Defect.time >= now - RECENT, sa.func.count()).where(*reviewed)
                    .group_by(Defect.label, Defect.time >= now - RECENT)):
                h.reviewed += n
                h.false_alarms += n if label == "false_alarm" else 0
                if recent:
                    h.reviewed_recent += n
                    h.false_alarms_recent += n if label == "false_alarm" else 0
            out.append(h)
    return out
