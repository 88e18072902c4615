"""The "why" of a defect: its hottest region beside the part of the reference shot it was compared with.

Revision ID: 0003_defect_why
Revises: 0002_audit_actor
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_defect_why"
down_revision = "0002_audit_actor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "defect_why",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("defect_id", sa.Integer(), sa.ForeignKey("defect.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reference_set_id", sa.Integer(), sa.ForeignKey("reference_set.id", ondelete="SET NULL")),
        sa.Column("shot_index", sa.Integer(), nullable=False),
        sa.Column("shot_name", sa.String(500), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("crop_path", sa.String(500), nullable=False),
        sa.Column("crop_sha256", sa.String(64), nullable=False),
        sa.Column("ref_crop_path", sa.String(500), nullable=False),
        sa.Column("ref_crop_sha256", sa.String(64), nullable=False),
    )
    op.create_index("ix_defect_why_defect_id", "defect_why", ["defect_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_defect_why_defect_id", table_name="defect_why")
    op.drop_table("defect_why")
