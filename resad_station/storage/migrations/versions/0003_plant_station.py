"""A plant: every inspection, defect and audit row names the station that wrote it.

Many stations share one database (PostgreSQL) in a plant; the review screen and `defects
list/export` filter by station and camera. Rows written before this revision get "".

Revision ID: 0003_plant_station
Revises: 0002_audit_actor
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_plant_station"
down_revision = "0002_audit_actor"
branch_labels = None
depends_on = None

TABLES = ("inspection", "defect", "audit_event")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("station", sa.String(100), nullable=False, server_default=""))
    op.create_index("ix_defect_station_camera_time", "defect", ["station", "camera", "time", "id"])


def downgrade() -> None:
    op.drop_index("ix_defect_station_camera_time", table_name="defect")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("station")
