"""defect.reason: why a whole-frame check failed the frame ("part missing", "unlike the references").

Revision ID: 0005_defect_reason
Revises: 0004_defect_why
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_defect_reason"
down_revision = "0004_defect_why"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("defect") as batch:
        batch.add_column(sa.Column("reason", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("defect") as batch:
        batch.drop_column("reason")
