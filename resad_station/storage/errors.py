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


def describe_db_error(exc: Exception, url: str) -> StorageError:
    """A clear StorageError for a SQLAlchemy/DBAPI error (locked database, full disk, ...)."""
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
    return StorageError(f"database error ({url}): {getattr(exc, 'orig', None) or exc}")


class NotFoundError(StorageError, LookupError):
    """A row asked for by id does not exist (anymore)."""
