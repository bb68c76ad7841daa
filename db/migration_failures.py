"""A revision that raised: which one, why, and where the database is now.

Alembic runs each step inside `MigrationContext.run_migrations`; the step being run is that
frame's `step` local, whose `.info` is the public `MigrationInfo` that `on_version_apply`
callbacks receive. When that frame is missing (an error outside any step) the revision file's
own frame in the traceback names it. Errors that mean "try again later" (timeouts, a lost
connection, a busy SQLite file) are left alone: they stay exit 6.
"""

from __future__ import annotations

import linecache
import re
import sqlite3
from types import TracebackType
from typing import Any

from alembic.script import ScriptDirectory

from db.errors import DatabaseUnavailable, RevisionFailed

# SQLSTATEs (and classes) that are transient: statement/lock timeouts, connection exceptions.
_TRANSIENT_SQLSTATES = {"57014", "55P03", "57P01", "57P02", "57P03", "53300"}
_CONNECTION_LOST = {
    "ConnectionDoesNotExistError",
    "CannotConnectNowError",
    "InterfaceError",
    "ConnectionFailureError",
}
# Packages whose exceptions (and frames) are the database's: a lost connection raised there is
# transient; the same exception class raised by a revision's own code is not.
_DRIVER_PACKAGES = {"asyncpg", "aiosqlite", "sqlite3", "sqlalchemy", "psycopg", "psycopg2"}
_SQLITE_BUSY_TEXT = re.compile(r"^database (table |schema )?is locked")
_CLASS_PREFIX = re.compile(r"^<class '[\w.]+'>:\s*")
_AUTOCOMMIT_HINT = (
    "autocommit_block() cannot run on SQLite: the whole run is one transaction there; guard it "
    'with `if op.get_context().dialect.name == "postgresql":`'
)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return seen


def _from_driver(exc: BaseException) -> bool:
    """Raised on its way through the database driver or SQLAlchemy (a frame of theirs in its
    traceback: asyncpg's socket lost under asyncio), not by the revision's own code (an
    `open()`, an HTTP call), whose traceback never passes through them."""
    return any(
        frame.f_globals.get("__name__", "").split(".")[0] in _DRIVER_PACKAGES
        for frame in _frames(exc.__traceback__)
    )


def _sqlite_busy(item: BaseException) -> bool:
    """SQLite's own busy/locked result (SQLITE_BUSY, SQLITE_LOCKED), not a message that merely
    contains "locked" (`no such table: locked_accounts`)."""
    if not isinstance(item, sqlite3.OperationalError):
        return False
    name = getattr(item, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return True
    return bool(_SQLITE_BUSY_TEXT.match(str(item)))


def is_transient(exc: BaseException) -> bool:
    """A timeout or lost connection reported by the DATABASE driver: the caller's exit 6, not a
    failed revision. A builtin OSError / TimeoutError raised by a revision's own code (a missing
    file, an HTTP call timing out) is not: that revision failed (exit 8)."""
    for item in _chain(exc):
        state = getattr(item, "sqlstate", None) or getattr(item, "pgcode", None)
        if isinstance(state, str) and (state in _TRANSIENT_SQLSTATES or state.startswith("08")):
            return True
        if _sqlite_busy(item):
            return True
        if isinstance(item, OSError | TimeoutError) and not isinstance(item, sqlite3.Error):
            if _from_driver(item):
                return True
            continue
        if type(item).__name__ in _CONNECTION_LOST and _is_driver_class(item):
            return True
        if getattr(item, "connection_invalidated", False):
            return True
    return False


def _is_driver_class(item: BaseException) -> bool:
    return type(item).__module__.split(".")[0] in _DRIVER_PACKAGES


_TIMEOUTS = {
    "57014": "statement timed out (MIGRATION_STATEMENT_TIMEOUT)",
    "55P03": "lock not available (lock_timeout)",
}


def timeout_reason(exc: BaseException) -> str | None:
    """What timed out, for a statement or lock timeout; None for anything else."""
    for item in _chain(exc):
        state = getattr(item, "sqlstate", None) or getattr(item, "pgcode", None)
        if state in _TIMEOUTS:
            return _TIMEOUTS[state]
    return None


def revision_timed_out(
    exc: BaseException, *, script: ScriptDirectory, now: list[str] | None
) -> DatabaseUnavailable | None:
    """A timeout inside a revision: still exit 6 (DB_TIMEOUT: retrying can succeed), but the
    line names the revision and where the database is now. None outside any revision."""
    what = timeout_reason(exc)
    revision, is_upgrade = failing_step(exc, script)
    if what is None or revision is None:
        return None
    title = _title(script, revision)
    where = "unknown" if now is None else (", ".join(now) or "base")
    verb = "" if is_upgrade else "downgrade of "
    return DatabaseUnavailable(
        f"{verb}{title}: {what}; rolled back, the database is at {where}", code="DB_TIMEOUT"
    )


def _frames(tb: TracebackType | None) -> list[Any]:
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


def failing_step(exc: BaseException, script: ScriptDirectory) -> tuple[str | None, bool]:
    """(revision id, is_upgrade) of the step that raised; (None, True) when the error came
    from outside any step (resolving the revisions to run, say)."""
    tb = exc.__traceback__
    frames = []
    while tb is not None:
        frame = tb.tb_frame
        frames.append(frame)
        step = frame.f_locals.get("step") if frame.f_code.co_name == "run_migrations" else None
        info = getattr(step, "info", None)
        # Raised by the `for step in ...` line itself: the previous step's local, not this one.
        line = linecache.getline(frame.f_code.co_filename, tb.tb_lineno).strip()
        if info is not None and hasattr(info, "up_revision_id") and not line.startswith("for "):
            # A downgrade step reverts up_revision_id too (up -> down).
            return info.up_revision_id, bool(info.is_upgrade)
        tb = tb.tb_next
    paths = {str(rev.path): rev.revision for rev in script.walk_revisions()}
    for frame in reversed(frames):
        if frame.f_code.co_filename in paths:
            return paths[frame.f_code.co_filename], True
    return None, True


def reason(exc: BaseException) -> str:
    """The database's own first line (never the statement or its parameters), else the
    exception's type and first line."""
    if _inside(exc, "autocommit_block") and isinstance(exc, AssertionError):
        return _AUTOCOMMIT_HINT
    orig = getattr(exc, "orig", None)
    if orig is not None:
        text = _CLASS_PREFIX.sub("", str(orig).strip()).splitlines()
        return text[0] if text else type(orig).__name__
    first = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {first[0]}" if first else type(exc).__name__


def _inside(exc: BaseException, function: str) -> bool:
    return any(frame.f_code.co_name == function for frame in _frames(exc.__traceback__))


def _title(script: ScriptDirectory, revision: str | None) -> str:
    if revision is None:
        return "a revision"
    try:
        doc = script.get_revision(revision).doc
    except Exception:
        doc = None
    return f"revision {revision} ({doc})" if doc else f"revision {revision}"


def revision_failed(
    exc: BaseException, *, script: ScriptDirectory, action: str, now: list[str] | None
) -> RevisionFailed:
    """One line: which revision failed doing what, the reason, and where the database is now
    (`now` None: could not be read)."""
    revision, is_upgrade = failing_step(exc, script)
    title = _title(script, revision)
    if action == "stamp":
        what = "stamp failed"
    elif action == "downgrade":
        what = f"downgrade of {title} failed"
    else:
        what = f"{title} failed" if is_upgrade else f"downgrade of {title} failed"
    if now is None:
        where = "could not read the database's revision afterwards"
    else:
        where = f"the database is at {', '.join(now) or 'base'}"
    return RevisionFailed(f"{what}: {reason(exc)}; {where}")
