"""audit_event.role is renamed actor: it always held who did it ("engineer:alice", "system"), not a role.

Revision ID: 0002_audit_actor
Revises: 0001_initial
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_audit_actor"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite copies the table with the new column name, rows and index kept
    with op.batch_alter_table("audit_event") as batch:
        batch.alter_column("role", new_column_name="actor", existing_type=sa.String(50), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.alter_column("actor", new_column_name="role", existing_type=sa.String(50), existing_nullable=False)
