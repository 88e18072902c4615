"""The station database: engine set-up, schema migrations, sessions and error translation.

SQLite (the default) runs in WAL mode so the review screen can read while the recorder
writes; busy_timeout makes a second writer wait instead of failing at once; foreign keys are
enforced. PostgreSQL (one database for a plant's stations) is tested the same way; there,
two stations migrating at once take turns on an advisory lock.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.orm import Session, sessionmaker

from resad_station.access.secret import load_or_create_secret
from resad_station.storage.errors import SchemaTooNewError, StorageError, describe_db_error, describe_url_error
from resad_station.storage.image_store import ImageStore
from resad_station.storage.schema import alembic_config, head_revision, known_revisions
from resad_station.storage.sealing import SEAL_INFO

log = logging.getLogger(__name__)
WAL_RETRY_S = 0.02
UPGRADE_LOCK_KEY = 0x7265_7361_6400  # pg_advisory_xact_lock key: one migrating station at a time


def _enter_wal(cursor, timeout_s: float) -> None:
    """Switch a connection's database to WAL, waiting up to timeout_s for other writers.

    On a database still in rollback-journal mode (a new file) the switch needs the exclusive
    lock, and SQLite answers "database is locked" at once, without its busy handler, while
    another connection holds the write lock: two stations opening a new database together.
    Once the file is in WAL (it stays so) the pragma only reads."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if not ("locked" in str(error) or "busy" in str(error)) or time.monotonic() >= deadline:
                raise
            time.sleep(WAL_RETRY_S)


class Database:
    """One database plus its image store.

    Database(url, images_root) opens (creating the SQLite file if needed) and, unless
    auto_upgrade is False, brings the schema to the app's revision; a database written by a
    newer app raises SchemaTooNewError and is left untouched.
    """

    def __init__(
        self,
        url: str,
        images_root: str | os.PathLike,
        *,
        auto_upgrade: bool = True,
        busy_timeout_s: float = 10.0,
        station: str = "",
    ):
        self.url = url
        self.station = station  # tags the rows written through this handle (a plant's many stations)
        self.images = ImageStore(images_root)
        try:  # keys the MAC on reference sets (storage/sealing.py); lives beside the PIN file
            self.seal_key, self._secret_created = load_or_create_secret(Path(images_root).parent)
        except (OSError, ValueError) as error:
            raise StorageError(f"station secret: {error}") from None
        try:
            self.engine = self._create_engine(url, busy_timeout_s, station)
        except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as error:
            raise describe_url_error(error, url) from None
        info = {SEAL_INFO: self.seal_key, "station": station}
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, info=info)
        read_options = {"sqlite_begin": "DEFERRED"}
        if self.engine.dialect.name == "postgresql":
            # READ COMMITTED (the default) takes a new snapshot per statement: a page and its total
            # could disagree while a station writes. REPEATABLE READ keeps one for the session.
            read_options["isolation_level"] = "REPEATABLE READ"
        self._read_sessions = sessionmaker(
            self.engine.execution_options(**read_options), expire_on_commit=False, info=info
        )
        self._upgrade_lock = threading.Lock()
        if auto_upgrade:
            self.upgrade()
        if self._secret_created and self.current_revision() is not None:
            self._seal_legacy_sets()  # also on `db check`: otherwise its first run would orphan them

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @staticmethod
    def _create_engine(url: str, busy_timeout_s: float, station: str = "") -> sa.Engine:
        parsed = sa.make_url(url)
        if parsed.drivername.startswith("postgresql"):
            # application_name: pg_stat_activity shows which station holds a connection.
            return sa.create_engine(url, pool_pre_ping=True, connect_args={
                "application_name": f"resad-station {station}".strip()[:63]})
        if not parsed.drivername.startswith("sqlite"):
            return sa.create_engine(url, pool_pre_ping=True)
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():  # owner-only from the start; SQLite gives -wal/-shm the same mode
                try:
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                except FileExistsError:
                    pass
                except OSError:
                    pass  # a read-only folder: SQLite's own error (translated) says so
        engine = sa.create_engine(
            url, connect_args={"timeout": busy_timeout_s, "check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            # Take transaction control from the sqlite3 module (it would BEGIN only before the
            # first write, so reads would not share a snapshot); SQLAlchemy BEGINs below.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            _enter_wal(cursor, busy_timeout_s)
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            # FULL: a commit is on disk before it returns (a power cut keeps committed rows).
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            # IMMEDIATE: a writer takes the write lock up front, so it waits (busy_timeout) for
            # another writer instead of failing mid-transaction when its snapshot went stale.
            # Read sessions use DEFERRED: a consistent snapshot that never blocks the writer.
            conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', 'IMMEDIATE')}")

        return engine

    # -- schema -------------------------------------------------------------------------------

    def current_revision(self) -> str | None:
        """The schema revision stored in the database (None for an empty database)."""
        from alembic.runtime.migration import MigrationContext

        try:
            with self.engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        except exc.SQLAlchemyError as error:
            raise describe_db_error(error, self.url) from error

    def ensure_not_newer(self) -> str | None:
        """Raise SchemaTooNewError when the database comes from a newer app; return its revision."""
        revision = self.current_revision()
        if revision is not None and revision not in known_revisions():
            raise SchemaTooNewError(
                f"database {self.url} has schema revision {revision!r}, which this app does not know "
                f"(its newest is {head_revision()!r}): it was written by a newer ResAD Station. "
                "Use that version, or point --db-url / --data-dir at another database."
            )
        return revision

    def upgrade(self) -> str:
        """Migrate to the app's newest revision (a no-op when already there); returns it."""
        from alembic import command

        with self._upgrade_lock:
            before = self.ensure_not_newer()
            head = head_revision()
            if before != head:
                log.info("upgrading database %s from %s to %s", self.url, before, head)
                try:
                    with self.engine.begin() as conn:
                        if self.engine.dialect.name == "postgresql":
                            # Another station may be migrating the same database right now: wait for
                            # it; Alembic then finds the schema at head and does nothing. (SQLite:
                            # BEGIN IMMEDIATE already serialises.)
                            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK_KEY})")
                        command.upgrade(alembic_config(conn), "head")
                except exc.SQLAlchemyError as error:
                    raise describe_db_error(error, self.url) from error
            return head

    def _seal_legacy_sets(self) -> None:
        """A new secret in a database that has sets from before sealing: seal those (no MAC yet) once, audited.

        From this moment on an unsealed or edited set is refused. Sets that carry a MAC made with
        another secret are left alone (they do not verify, and the station says so).
        """
        from resad_station.storage.models import ReferenceSet
        from resad_station.storage.repository.audit import add_audit_event
        from resad_station.storage.sealing import MAC_KEY, seal

        with self.session() as s:
            legacy = [rs for rs in s.scalars(sa.select(ReferenceSet)) if MAC_KEY not in (rs.calibration or {})]
            for rs in legacy:
                seal(self.seal_key, rs)
            if legacy:
                add_audit_event(s, "system:station", "reference_sets_sealed", {
                    "reference_set_ids": [rs.id for rs in legacy],
                    "why": "station secret created; these sets predate sealing"})

    # -- sessions -----------------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read-write session: committed on success, rolled back on any error.

        On SQLite it holds the write lock from its first statement, so keep it short (compute
        and write files before opening it). Database failures (locked, disk full...) become
        StorageError; whatever was committed before stays committed. Rows stay readable after
        the block (expire_on_commit=False).
        """
        with self._session(self._sessions, commit=True) as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only session on one consistent snapshot (a page and its total agree).

        Never blocks the writer and is never blocked by it (SQLite WAL, PostgreSQL MVCC at
        REPEATABLE READ); nothing is committed.
        """
        with self._session(self._read_sessions, commit=False) as session:
            yield session

    @contextmanager
    def _session(self, factory: sessionmaker, commit: bool) -> Iterator[Session]:
        session = factory()
        try:
            yield session
            if commit:
                session.commit()
        except exc.OperationalError as error:
            session.rollback()
            raise describe_db_error(error, self.url) from error
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def check(self):
        """Integrity of the database and of every image file its rows point at (CheckReport)."""
        from resad_station.storage.check import check_database

        return check_database(self)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
