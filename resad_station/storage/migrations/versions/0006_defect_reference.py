"""defect.reference: the defect id a verdict message carries, unique across the plant.

The station gives each UNCERTAIN/FAIL frame a reference (a UUID) when it decides the verdict, so
the message to the line can name the defect row that is written afterwards. Rows written before
this revision have none (NULL; a unique index allows any number of NULLs on SQLite and
PostgreSQL); they are found by their database id as before.

Revision ID: 0006_defect_reference
Revises: 0005_defect_reason
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_defect_reference"
down_revision = "0005_defect_reason"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("defect") as batch:
        batch.add_column(sa.Column("reference", sa.String(64), nullable=True))
    op.create_index("ix_defect_reference", "defect", ["reference"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_defect_reference", table_name="defect")
    with op.batch_alter_table("defect") as batch:
        batch.drop_column("reference")
