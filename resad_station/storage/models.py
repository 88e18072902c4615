"""ORM tables of the station database (SQLAlchemy 2). Migrations in migrations/ must match.

Times are timezone-aware UTC datetimes (stored naive UTC, which SQLite and PostgreSQL both
order correctly). Image files live in the ImageStore; rows hold their relative path + sha256.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

VERDICTS = ("pass", "uncertain", "fail")
LABELS = ("none", "defect", "false_alarm")
IMAGE_SOURCES = ("file", "live", "review")
REFERENCE_LENGTH = 64  # a defect's reference: a UUID (36 characters) as the recorder makes them


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the column (portable ordering)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None else None


def station_column() -> Mapped[str]:
    """The station that wrote the row: many stations share one database in a plant ("" before 0002)."""
    return mapped_column(sa.String(100), default="", server_default="")


def _one_of(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=name)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON(), float: sa.Float()}


class Product(Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    profile_path: Mapped[str | None] = mapped_column(sa.String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    reference_sets: Mapped[list[ReferenceSet]] = relationship(
        back_populates="product", cascade="all, delete-orphan", passive_deletes=True
    )


class ReferenceSet(Base):
    """One enrolled version of a product's references: engine features + calibration."""

    __tablename__ = "reference_set"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "version", name="uq_reference_set_product_version"),
        # At most one active set per product (partial unique index: SQLite and PostgreSQL).
        sa.Index(
            "ix_reference_set_one_active", "product_id", unique=True,
            sqlite_where=sa.text("active = 1"), postgresql_where=sa.text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id", ondelete="CASCADE"))
    version: Mapped[int]
    active: Mapped[bool] = mapped_column(default=False)
    features: Mapped[bytes] = mapped_column(sa.LargeBinary)
    backbone: Mapped[str] = mapped_column(sa.String(200))
    engine_version: Mapped[str] = mapped_column(sa.String(50))
    input_size: Mapped[int]
    shots: Mapped[int]
    calibration: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    note: Mapped[str] = mapped_column(sa.Text, default="")

    product: Mapped[Product] = relationship(back_populates="reference_sets")
    images: Mapped[list[ReferenceImage]] = relationship(
        back_populates="reference_set", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ReferenceImage.id",
    )


class ReferenceImage(Base):
    __tablename__ = "reference_image"
    __table_args__ = (_one_of("source", IMAGE_SOURCES, "ck_reference_image_source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference_set_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reference_set.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(sa.String(500))  # relative to the image store
    sha256: Mapped[str] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(16), default="file")

    reference_set: Mapped[ReferenceSet] = relationship(back_populates="images")


class Inspection(Base):
    """One inspected (or sampled) frame: a small row, written in bulk by the recorder."""

    __tablename__ = "inspection"
    __table_args__ = (
        _one_of("verdict", VERDICTS, "ck_inspection_verdict"),
        sa.Index("ix_inspection_product_time", "product_id", "time"),
        sa.Index("ix_inspection_time", "time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id", ondelete="CASCADE"))
    station: Mapped[str] = station_column()
    camera: Mapped[str] = mapped_column(sa.String(100))
    time: Mapped[datetime]
    score: Mapped[float]
    verdict: Mapped[str] = mapped_column(sa.String(16))
    latency_ms: Mapped[float]
    frame_index: Mapped[int]


class Defect(Base):
    """An uncertain or failed frame kept for review, with its image, heatmap and raw map files."""

    __tablename__ = "defect"
    __table_args__ = (
        _one_of("verdict", VERDICTS, "ck_defect_verdict"),
        _one_of("label", LABELS, "ck_defect_label"),
        # The review gallery filters by product (+ verdict / label) and pages newest first.
        sa.Index("ix_defect_product_time", "product_id", "time", "id"),
        sa.Index("ix_defect_product_verdict_time", "product_id", "verdict", "time", "id"),
        sa.Index("ix_defect_product_label_time", "product_id", "label", "time", "id"),
        sa.Index("ix_defect_time", "time", "id"),
        # A plant's review filters by station and camera (0003_plant_station).
        sa.Index("ix_defect_station_camera_time", "station", "camera", "time", "id"),
        # The defect id a verdict message carries (0006_defect_reference): unique across the plant.
        sa.Index("ix_defect_reference", "reference", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inspection.id", ondelete="SET NULL"), index=True
    )
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id", ondelete="CASCADE"))
    station: Mapped[str] = station_column()
    camera: Mapped[str] = mapped_column(sa.String(100))
    time: Mapped[datetime]
    verdict: Mapped[str] = mapped_column(sa.String(16))
    score: Mapped[float]
    image_path: Mapped[str] = mapped_column(sa.String(500))
    image_sha256: Mapped[str] = mapped_column(sa.String(64))
    heatmap_path: Mapped[str | None] = mapped_column(sa.String(500))
    heatmap_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    raw_map_path: Mapped[str | None] = mapped_column(sa.String(500))
    raw_map_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    label: Mapped[str] = mapped_column(sa.String(16), default="none")
    reviewer: Mapped[str | None] = mapped_column(sa.String(100))
    reviewed_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(sa.Text)
    # why a whole-frame check failed the frame ("part missing", "unlike the references"); None: the score did
    reason: Mapped[str | None] = mapped_column(sa.String(100))
    # given at decision time and sent as the verdict message's defect_id; None on rows older than 0006
    reference: Mapped[str | None] = mapped_column(sa.String(REFERENCE_LENGTH))

    product: Mapped[Product] = relationship()


class AuditEvent(Base):
    """Who changed what (thresholds, profiles, references, labels...)."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_time", "time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    time: Mapped[datetime] = mapped_column(default=utc_now)
    station: Mapped[str] = station_column()
    actor: Mapped[str] = mapped_column(sa.String(50))  # who: "engineer:alice", "system"...
    action: Mapped[str] = mapped_column(sa.String(100))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DefectWhy(Base):
    """Why a defect was flagged: its hottest region and the part of reference shot `shot_index`
    it was compared with there (two small crops; details hold both boxes in pixels)."""

    __tablename__ = "defect_why"
    __table_args__ = (sa.Index("ix_defect_why_defect_id", "defect_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    defect_id: Mapped[int] = mapped_column(sa.ForeignKey("defect.id", ondelete="CASCADE"))
    reference_set_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reference_set.id", ondelete="SET NULL"))
    shot_index: Mapped[int]
    shot_name: Mapped[str] = mapped_column(sa.String(500), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    crop_path: Mapped[str] = mapped_column(sa.String(500))
    crop_sha256: Mapped[str] = mapped_column(sa.String(64))
    ref_crop_path: Mapped[str] = mapped_column(sa.String(500))
    ref_crop_sha256: Mapped[str] = mapped_column(sa.String(64))
