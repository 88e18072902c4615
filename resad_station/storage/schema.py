"""The app's schema revisions: where the Alembic migrations are and which revision is the newest."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from resad_station.storage.errors import StorageError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: sa.Connection | None = None):
    from alembic.config import Config  # imported late: only needed to migrate

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this app knows."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise StorageError(f"the app's migrations have {len(heads)} heads ({heads}); expected one")
    return heads[0]


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
