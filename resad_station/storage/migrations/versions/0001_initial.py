"""Initial schema: product, reference_set, reference_image, inspection, defect, audit_event.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def _check(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


VERDICTS = ("pass", "uncertain", "fail")


def upgrade() -> None:
    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("profile_path", sa.String(1000), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "reference_set",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("product.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("features", sa.LargeBinary(), nullable=False),
        sa.Column("backbone", sa.String(200), nullable=False),
        sa.Column("engine_version", sa.String(50), nullable=False),
        sa.Column("input_size", sa.Integer(), nullable=False),
        sa.Column("shots", sa.Integer(), nullable=False),
        sa.Column("calibration", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.UniqueConstraint("product_id", "version", name="uq_reference_set_product_version"),
    )
    op.create_index(
        "ix_reference_set_one_active", "reference_set", ["product_id"], unique=True,
        sqlite_where=sa.text("active = 1"), postgresql_where=sa.text("active"),
    )
    op.create_table(
        "reference_image",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("reference_set_id", sa.Integer(), sa.ForeignKey("reference_set.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        _check("source", ("file", "live", "review"), "ck_reference_image_source"),
    )
    op.create_index("ix_reference_image_reference_set_id", "reference_image", ["reference_set_id"])
    op.create_table(
        "inspection",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("product.id", ondelete="CASCADE"), nullable=False),
        sa.Column("camera", sa.String(100), nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("frame_index", sa.Integer(), nullable=False),
        _check("verdict", VERDICTS, "ck_inspection_verdict"),
    )
    op.create_index("ix_inspection_product_time", "inspection", ["product_id", "time"])
    op.create_index("ix_inspection_time", "inspection", ["time"])
    op.create_table(
        "defect",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("inspection_id", sa.Integer(), sa.ForeignKey("inspection.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("product.id", ondelete="CASCADE"), nullable=False),
        sa.Column("camera", sa.String(100), nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("image_path", sa.String(500), nullable=False),
        sa.Column("image_sha256", sa.String(64), nullable=False),
        sa.Column("heatmap_path", sa.String(500), nullable=True),
        sa.Column("heatmap_sha256", sa.String(64), nullable=True),
        sa.Column("raw_map_path", sa.String(500), nullable=True),
        sa.Column("raw_map_sha256", sa.String(64), nullable=True),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(100), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        _check("verdict", VERDICTS, "ck_defect_verdict"),
        _check("label", ("none", "defect", "false_alarm"), "ck_defect_label"),
    )
    op.create_index("ix_defect_inspection_id", "defect", ["inspection_id"])
    op.create_index("ix_defect_product_time", "defect", ["product_id", "time", "id"])
    op.create_index("ix_defect_product_verdict_time", "defect", ["product_id", "verdict", "time", "id"])
    op.create_index("ix_defect_product_label_time", "defect", ["product_id", "label", "time", "id"])
    op.create_index("ix_defect_time", "defect", ["time", "id"])
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("role", sa.String(50), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_event_time", "audit_event", ["time"])


def downgrade() -> None:
    for table in ("audit_event", "defect", "inspection", "reference_image", "reference_set", "product"):
        op.drop_table(table)
