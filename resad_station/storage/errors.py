"""Storage errors: messages say what failed, where, and that committed data is safe."""

from __future__ import annotations

import errno


class StorageError(Exception):
    """The database or the image store could not do what was asked (locked, full, corrupt...)."""


class SchemaTooNewError(StorageError):
    """The database was written by a newer version of the app; this one refuses to touch it."""


def describe_os_error(exc: OSError, what: str) -> StorageError:
    if exc.errno == errno.ENOSPC:
        return StorageError(f"disk full while writing {what}; nothing already saved was lost")
    return StorageError(f"cannot write {what}: {exc.strerror or exc}")


def shown_url(url: str) -> str:
    """The URL for messages: the password as ***."""
    import sqlalchemy as sa

    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: nothing to hide beyond what the user typed
        return str(url)


def describe_url_error(exc: Exception, url: str) -> StorageError:
    """One line for a --db-url that names no usable database (bad syntax, unknown kind, no driver)."""
    from sqlalchemy import exc as sa_exc

    shown = shown_url(url)
    example = "e.g. sqlite:////path/station.db or postgresql://user@host/dbname"
    if isinstance(exc, sa_exc.NoSuchModuleError):
        kind = str(url).split(":", 1)[0]
        hint = " (did you mean postgresql://?)" if kind.startswith("postgres") and kind != "postgresql" else ""
        return StorageError(f"--db-url {shown}: unknown database kind {kind!r}{hint}; expected {example}")
    if isinstance(exc, ImportError):
        return StorageError(f"--db-url {shown}: its database driver is not installed ({exc.name or exc}); "
                            f"install it, or use {example}")
    return StorageError(f"--db-url {shown}: not a database URL ({_first_line(exc)}); expected {example}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe_db_error(exc: Exception, url: str) -> StorageError:
    """A clear StorageError for a SQLAlchemy/DBAPI error (locked database, full disk, ...)."""
    url = shown_url(url)
    text = str(getattr(exc, "orig", None) or exc).lower()
    if "locked" in text or "busy" in text:
        return StorageError(
            f"database is locked by another process or thread ({url}); the change was not saved, "
            "nothing already saved was lost; retry when the other writer is done"
        )
    if "full" in text:
        return StorageError(f"disk full: the database cannot grow ({url}); the change was not saved, "
                            "nothing already saved was lost; free some disk space")
    if "readonly" in text or "read-only" in text:
        return StorageError(f"database is read-only ({url}); the change was not saved")
    if "unable to open database file" in text:
        return StorageError(f"cannot open the database file ({url}): its folder is missing or read-only")
    if "connection" in text or "could not translate host" in text or "timeout" in text:
        return StorageError(f"cannot reach the database server ({url}): {_first_line(getattr(exc, 'orig', None) or exc)}")
    return StorageError(f"database error ({url}): {_first_line(getattr(exc, 'orig', None) or exc)}")


class NotFoundError(StorageError, LookupError):
    """A row asked for by id does not exist (anymore)."""
