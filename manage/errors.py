"""The one place that turns an exception into an exit code, an error code and one line.

Messages never include SQL parameters, input values or a URL's password.
"""

from __future__ import annotations

import asyncio
import sqlite3
import ssl
from dataclasses import dataclass
from typing import Any

from manage.exit_codes import ExitCode, exit_code_for_status


class CheckFailed(Exception):
    """A check ran and found problems: exit 1, with the report as the JSON `data`."""

    def __init__(self, message: str, *, error_code: str = "CHECK_FAILED", data: Any = None):
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.data = data


class UsageError(Exception):
    """Arguments or settings that parse but make no sense: exit 5 with this message (and
    `data` as the JSON envelope's data, e.g. `config show`'s rows)."""

    def __init__(self, message: str, *, data: Any = None) -> None:
        super().__init__(message)
        self.data = data


@dataclass(frozen=True)
class Failure:
    exit_code: ExitCode
    error_code: str
    message: str
    data: Any = None


# SQLSTATE classes that mean "the server is there but would not let us finish in time".
_TIMEOUT_SQLSTATES = {"57014": "statement timed out", "55P03": "lock not available (lock_timeout)"}
# Another transaction won: PostgreSQL rolled this one back, and running it again can succeed
# (serialization_failure, deadlock_detected; SQLSTATE class 40, "transaction rollback").
_CONCURRENT_SQLSTATES = {
    "40001": "could not serialize access due to a concurrent transaction",
    "40P01": "deadlock with a concurrent transaction",
}
_UNAVAILABLE_SQLSTATES = {
    "3D000": "database does not exist",
    "28P01": "password authentication failed",
    "28000": "authentication rejected",
    "57P03": "the server is starting up or shutting down",
    "53300": "too many connections",
}


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return seen


def _file(error: OSError) -> bool:
    """An error of a file operation (open, stat, rename set `filename`), not of a socket: a
    unix-socket connect that finds no server is a FileNotFoundError without one."""
    return error.filename is not None


def _connection_reason(exc: BaseException) -> str | None:
    """A short reason when `exc` means the database could not be reached at all."""
    for item in _chain(exc):
        if isinstance(item, TimeoutError | asyncio.TimeoutError):
            # Connects and statements through SQLAlchemy are named where they time out
            # (db/engine.py); what is left is the driver used directly (a bulk COPY).
            return (
                "a statement timed out: no answer in time (DB_COMMAND_TIMEOUT); the network "
                "or the server stalled"
            )
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {item.verify_message or item.reason}"
        if isinstance(item, ssl.SSLError):
            return f"TLS error: {item.reason or item.strerror or type(item).__name__}"
        if isinstance(item, OSError) and not isinstance(item, sqlite3.Error) and not _file(item):
            # The driver's reason ("... rejected SSL upgrade"), not only the class name; it
            # names host and port, never the password.
            text = str(item).splitlines()[0] if str(item) else ""
            return item.strerror or text or type(item).__name__
        if isinstance(item, sqlite3.OperationalError):
            text = str(item)
            if "unable to open database file" in text:
                return "unable to open the SQLite database file"
            if "locked" in text:
                return "database is locked (busy timeout exceeded)"
        name = type(item).__name__
        if name in {
            "ConnectionDoesNotExistError",
            "CannotConnectNowError",
            "InternalClientError",
            "ConnectionFailureError",
        }:
            return "connection lost"
    return None


def _missing_table(exc: BaseException) -> str | None:
    for item in _chain(exc):
        text = str(item).splitlines()[0] if str(item) else ""
        if isinstance(item, sqlite3.OperationalError) and text.startswith("no such table"):
            return text
        if type(item).__name__ == "UndefinedTableError":
            return text
    return None


def _missing_column(exc: BaseException) -> str | None:
    """A column the models read that the database does not have yet: a database migrated
    part-way (SQLite's "no such column", PostgreSQL's undefined_column, SQLSTATE 42703)."""
    for item in _chain(exc):
        text = str(item).splitlines()[0] if str(item) else ""
        if isinstance(item, sqlite3.OperationalError) and text.startswith("no such column"):
            return text
        if type(item).__name__ == "UndefinedColumnError":
            return text
    return None


def snippet_error(exc: BaseException) -> BaseException:
    """What an exception raised by a `manage shell -c` snippet is reported as.

    The snippet is the user's input: its own NameError, a failed assertion, a SystemExit or a
    mistake in its SQL is exit 5 naming what it raised ("-c: NameError: name 'x' is not
    defined"), never exit 70, which says manage has a bug. What every command maps (not
    found, conflict, invalid input, database unavailable or timed out) keeps its mapping. A
    database error shows the driver's first line only: no statement, no parameters."""
    import sqlite3

    from sqlalchemy import exc as sa_exc

    if isinstance(exc, SystemExit):
        return UsageError(f"-c: SystemExit: {exc.code}")
    if isinstance(exc, sa_exc.DBAPIError) and not isinstance(exc, sa_exc.IntegrityError):
        own_sql = _missing_table(exc) or _missing_column(exc)
        if own_sql is None and _classify(exc, where="").exit_code != ExitCode.INTERNAL:
            return exc
        for item in _chain(exc):
            text = str(item).splitlines()[0] if str(item) else ""
            if text and (isinstance(item, sqlite3.Error) or getattr(item, "sqlstate", None)):
                return UsageError(f"-c: database error: {text}")
        return UsageError(f"-c: database error: {type(getattr(exc, 'orig', exc)).__name__}")
    if _classify(exc, where="").exit_code != ExitCode.INTERNAL:
        return exc
    text = str(exc).splitlines()[0] if str(exc) else ""
    return UsageError(f"-c: {type(exc).__name__}" + (f": {text}" if text else ""))


def classify(exc: BaseException, *, where: str = "", finished: bool = False) -> Failure:
    """Map any exception raised while running a command to what the user is told.

    A multi-step command (migrate upgrade on PostgreSQL, db init) that fails after some steps
    committed, or while a COMMIT went unanswered, says so (db/progress.py): a stall after
    two revisions is exit 6 naming the two, never a bare "timed out" that hides them. A failing
    revision names where the database is at in its own message (RevisionFailed), and a
    failure after the command `finished` (writing its result) says that instead."""
    from dataclasses import replace

    from db.errors import RevisionFailed
    from db.progress import ledger

    failure = _classify(exc, where=where)
    if finished or failure.error_code == "INTERRUPTED" or isinstance(exc, RevisionFailed):
        return failure
    stayed = ledger().stayed()
    return replace(failure, message=f"{failure.message}; {stayed}") if stayed else failure


def _classify(exc: BaseException, *, where: str) -> Failure:
    from pydantic import ValidationError
    from sqlalchemy import exc as sa_exc

    from app.errors import AppException, ErrorCode
    from db.errors import DatabaseLayerError, sqlstate

    interrupted = _interruption(exc)
    if interrupted is not None:
        return interrupted
    if isinstance(exc, AppException):
        return Failure(exit_code_for_status(exc.status), exc.error_code, exc.message)
    if isinstance(exc, DatabaseLayerError):
        return Failure(database_layer_exit(exc), exc.code, exc.message)
    if isinstance(exc, CheckFailed):
        return Failure(ExitCode.CHECK_FAILED, exc.error_code, exc.message, exc.data)
    if isinstance(exc, UsageError):
        return Failure(ExitCode.INVALID, ErrorCode.INVALID_INPUT, str(exc), exc.data)
    if isinstance(exc, ValidationError):
        return Failure(ExitCode.INVALID, ErrorCode.INVALID_INPUT, describe_validation_error(exc))
    state = sqlstate(exc)
    if state in _TIMEOUT_SQLSTATES:
        return Failure(ExitCode.UNAVAILABLE, ErrorCode.DB_TIMEOUT, _TIMEOUT_SQLSTATES[state])
    if state in _CONCURRENT_SQLSTATES:
        return Failure(
            ExitCode.CONFLICT,
            ErrorCode.CONFLICT,
            f"rolled back: {_CONCURRENT_SQLSTATES[state]}; run it again",
        )
    if state in _UNAVAILABLE_SQLSTATES:
        return Failure(
            ExitCode.UNAVAILABLE,
            ErrorCode.DB_UNAVAILABLE,
            f"database unavailable{where}: {_UNAVAILABLE_SQLSTATES[state]}",
        )
    if state is not None and state.startswith("08"):  # connection exception class
        return Failure(
            ExitCode.UNAVAILABLE,
            ErrorCode.DB_UNAVAILABLE,
            f"database unavailable{where}: {_server_message(exc)}{_HINTS.get(state, '')}",
        )
    if isinstance(exc, OSError) and _file(exc):
        # A file the command reads or writes, not the database: its sites name their own
        # errors; this one escaped them.
        return Failure(
            ExitCode.INVALID,
            ErrorCode.INVALID_INPUT,
            f"cannot use {exc.filename}: {exc.strerror or type(exc).__name__}",
        )
    reason = _connection_reason(exc)
    if reason is not None:
        return Failure(
            ExitCode.UNAVAILABLE, ErrorCode.DB_UNAVAILABLE, f"database unavailable{where}: {reason}"
        )
    missing = _missing_table(exc)
    if missing is not None:
        return Failure(
            ExitCode.UNAVAILABLE,
            ErrorCode.DB_UNAVAILABLE,
            f"the database schema is missing ({missing}); run `manage migrate upgrade` first",
        )
    missing = _missing_column(exc)
    if missing is not None:
        return Failure(
            ExitCode.UNAVAILABLE,
            ErrorCode.DB_UNAVAILABLE,
            f"the database schema is behind this code ({missing}); "
            "run `manage migrate upgrade` first",
        )
    if isinstance(exc, sa_exc.IntegrityError):
        # str(exc) would print the statement's parameters; say only what conflicted.
        return Failure(
            ExitCode.CONFLICT,
            ErrorCode.CONFLICT,
            f"conflicts with existing data ({_constraint(exc)})",
        )
    if isinstance(exc, sa_exc.SQLAlchemyError):
        return Failure(
            ExitCode.INTERNAL,
            ErrorCode.INTERNAL_ERROR,
            f"database error: {type(getattr(exc, 'orig', exc)).__name__} "
            "(run with --verbose for the traceback)",
        )
    return Failure(
        ExitCode.INTERNAL,
        ErrorCode.INTERNAL_ERROR,
        f"unexpected error: {type(exc).__name__} (run with --verbose for the traceback)",
    )


def _interruption(exc: BaseException) -> Failure | None:
    """SIGINT / SIGTERM / SIGHUP (manage/interrupts.py): 130 / 143 / 129, saying what the
    command had already committed (db/progress.py). SIGINT keeps the short
    "interrupted; ..." everyone knows from Ctrl-C; the others name the signal."""
    from db.progress import ledger
    from manage.interrupts import Interrupted

    if isinstance(exc, Interrupted):
        exit_code = ExitCode(exc.exit_code)
        who = "" if exit_code is ExitCode.INTERRUPTED else f" by {exc.signum.name}"
    elif isinstance(exc, KeyboardInterrupt | asyncio.CancelledError):
        exit_code, who = ExitCode.INTERRUPTED, ""
    else:
        return None
    from app.errors import ErrorCode

    # A cleanup that could not finish says what it left behind (db/review/scratch.py).
    said = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    if said.startswith("interrupted; "):
        return Failure(exit_code, ErrorCode.INTERRUPTED, said)
    return Failure(exit_code, ErrorCode.INTERRUPTED, f"interrupted{who}; {ledger().describe()}")


def database_layer_exit(exc: Any) -> ExitCode:
    """The exit code for one of db/errors.py's exceptions (the API maps the same classes to
    HTTP statuses in app/api/errors.py)."""
    from db.errors import (
        BackfillPending,
        Conflict,
        DatabaseUnavailable,
        InvalidArgument,
        LockNotAcquired,
        NotFound,
        RevisionFailed,
    )

    if isinstance(exc, RevisionFailed):
        return ExitCode.MIGRATION_FAILED
    if isinstance(exc, DatabaseUnavailable | LockNotAcquired):
        return ExitCode.UNAVAILABLE
    if isinstance(exc, InvalidArgument):
        return ExitCode.INVALID
    if isinstance(exc, NotFound):
        return ExitCode.NOT_FOUND
    if isinstance(exc, Conflict):
        return ExitCode.CONFLICT
    if isinstance(exc, BackfillPending):
        return ExitCode.REFUSED
    return ExitCode.INTERNAL


_HINTS = {
    "08P01": " (behind PgBouncer? set DB_PGBOUNCER=1)",
}


def _server_message(exc: BaseException) -> str:
    """The server's own first line for a connection-class error (it holds no secrets)."""
    for item in _chain(exc):
        if getattr(item, "sqlstate", None) and str(item):
            return str(item).splitlines()[0]
    return "connection rejected"


def _constraint(exc: BaseException) -> str:
    for item in _chain(exc):
        name = getattr(item, "constraint_name", None)
        if name:
            return f"constraint {name}"
    orig = getattr(exc, "orig", None)
    text = str(orig).splitlines()[0] if orig is not None else ""
    # SQLite says e.g. "UNIQUE constraint failed: users.email": no values, safe to show.
    return text if "constraint failed" in text else "integrity constraint"


def describe_validation_error(exc: Any) -> str:
    """One line naming each bad field and why; never the submitted value."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
        parts.append(f"{location}: {error['msg']}" if location else error["msg"])
    return "; ".join(parts) or "invalid input"
