"""The database layer's own exceptions, and sqlstate(): the one reader of a server error's SQLSTATE.

`db/` sits below `app/`: it never imports `app.errors`. It raises these small types instead, and
each caller maps them once: `manage/errors.py` to an exit code, `app/api/errors.py` to an HTTP
status. `code` is the error code a `--json` envelope or an API response carries; every value is
also a member of `app.errors.ErrorCode` (tests/test_layers.py checks both facts).
"""

from __future__ import annotations


class DatabaseLayerError(Exception):
    """Base class: `message` is one line for the user, `code` the machine-readable error code."""

    code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class DatabaseUnavailable(DatabaseLayerError):
    """The database cannot be reached or opened (exit 6, HTTP 503)."""

    code = "DB_UNAVAILABLE"


class LockNotAcquired(DatabaseLayerError):
    """A lock (migration, bootstrap) was not acquired in time (exit 6, HTTP 503)."""

    code = "MIGRATION_LOCKED"


class InvalidArgument(DatabaseLayerError):
    """An argument or setting the database layer refuses, e.g. a bad revision (exit 5, HTTP 422)."""

    code = "INVALID_INPUT"


class BadRevision(InvalidArgument):
    """A revision, range or revision graph Alembic cannot use (exit 5, HTTP 422)."""

    code = "BAD_REVISION"


class ScriptsBroken(InvalidArgument):
    """A revision file cannot be loaded (syntax/import error, no revision id, a cycle, ...):
    exit 5 on every command that reads the scripts. `file` is its path (None: the graph)."""

    code = "REVISION_BROKEN"

    def __init__(self, message: str, *, file: str | None = None) -> None:
        super().__init__(message)
        self.file = file


class NotFound(DatabaseLayerError):
    """Nothing by that name, e.g. a revision that declares no backfill (exit 3, HTTP 404)."""

    code = "NOT_FOUND"


class Conflict(DatabaseLayerError):
    """Already happening or in use, e.g. a backfill another process is running (exit 4, 409)."""

    code = "CONFLICT"


class BackfillPending(DatabaseLayerError):
    """A revision requires a backfill that is not complete: refused (exit 7, HTTP 403)."""

    code = "BACKFILL_PENDING"


class RevisionFailed(DatabaseLayerError):
    """A revision raised while upgrade, downgrade or stamp ran it (exit 8, HTTP 500).

    The message names the revision, the reason (the database's own first line) and the revision
    the database is at now; not a bug in `manage` (70) and not transient (6).
    """

    code = "MIGRATION_FAILED"


class BackfillFailed(RevisionFailed):
    """A declared backfill's own work (its SQL or function) raised on a batch (exit 8): the
    message names the backfill, the key range and the reason; earlier batches stay committed
    and a rerun resumes at the failed batch."""

    code = "BACKFILL_FAILED"


class ForeignKeyViolation(RevisionFailed):
    """A SQLite migration left rows whose foreign key points nowhere; rolled back (exit 8)."""

    code = "FOREIGN_KEY_VIOLATION"


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE PostgreSQL reported for `exc`, or None (SQLite, or no server error).

    Reads the exception and the driver's error under it: SQLAlchemy's DBAPIError -> `.orig`
    (its asyncpg adapter carries `.sqlstate`) -> `.__cause__` (asyncpg's own error, e.g.
    DeadlockDetectedError); `pgcode` is psycopg2's name for it. Never the message: it can
    carry SQL parameters, and words in it decide nothing.
    """
    for candidate in (exc, getattr(exc, "orig", None), exc.__cause__):
        if candidate is None:
            continue
        for item in (candidate, candidate.__cause__):
            for attr in ("sqlstate", "pgcode"):
                value = getattr(item, attr, None)
                if isinstance(value, str):
                    return value
    return None
