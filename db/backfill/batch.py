"""One batch of a backfill: its SQL or function on one key range, and its progress.

Runs inside the batch's transaction (db/backfill/runner.py opens and commits it): lock the
progress row, find the next `batch_size` keys after the cursor, run the work on `[lo, hi]`,
move the cursor to `hi`. The work's own errors are BackfillFailed (exit 8, naming the backfill,
the range and the reason); a timeout, a lock conflict or a lost connection is not the
backfill's fault and goes up as it is (retried, or exit 6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.backfill import progress
from db.backfill.declaration import Backfill
from db.config import DatabaseSettings
from db.errors import BackfillFailed, Conflict, DatabaseUnavailable, sqlstate

RETRY_SQLSTATES = {"55P03", "40P01", "40001"}  # lock_timeout, deadlock, serialization failure

# SQLite's primary result codes for "not this batch's fault": another connection holds the
# lock, the statement was interrupted (a signal, db/stalls.py), the disk or file failed.
# https://www.sqlite.org/rescode.html
SQLITE_TRANSIENT = {
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_INTERRUPT",
    "SQLITE_IOERR",
    "SQLITE_FULL",
}


@dataclass
class Batch:
    keys: int
    changed: int
    last_key: Any


def timeouts(settings: DatabaseSettings) -> dict[str, int]:
    values = {
        "lock_timeout": settings.migration_lock_timeout,
        "statement_timeout": settings.migration_statement_timeout,
    }
    return {name: int(seconds * 1000) for name, seconds in values.items() if seconds}


def one_batch(
    connection: Connection, bf: Backfill, column: sa.Column, batch_size: int, timeouts: dict
) -> Batch | None:
    if connection.dialect.name == "postgresql":
        for name, milliseconds in timeouts.items():
            # SET takes no bind parameters; the value is an int we computed.
            connection.exec_driver_sql(f"SET LOCAL {name} = {milliseconds}")
    row = progress.get(connection, bf.name, for_update=True)
    if row is None:
        # Its revision was downgraded (.forget()) by another session while this run went on.
        raise Conflict(
            f"backfill {bf.name!r} was removed from {progress.TABLE} while it ran (its "
            "revision downgraded by another session?); stopped, the batches before stay",
            code="CONFLICT",
        )
    # Another runner may carry another version of the revision file (a rolling deploy).
    progress.check_declaration(row, bf)
    if row.complete:
        return None
    lo, hi, count = _next_range(connection, column, row.last_key, batch_size)
    if not count:
        progress.mark_complete(connection, bf.name)
        return None
    try:
        if bf.sql is not None:
            statement = sa.text(bf.sql).bindparams(
                sa.bindparam("lo", type_=column.type), sa.bindparam("hi", type_=column.type)
            )
            changed = connection.execute(statement, {"lo": lo, "hi": hi}).rowcount
        else:
            assert bf.function is not None
            changed = _call_function(connection, bf, lo, hi)
    except BackfillFailed:
        raise
    except Exception as exc:
        if _transient(exc):
            raise  # retried, or the runner's own timeout / lost-connection handling
        raise _failed(bf, lo, hi, _reason(exc)) from exc
    progress.advance(connection, bf.name, last_key=hi, keys=int(count))
    return Batch(keys=int(count), changed=int(count if changed is None else changed), last_key=hi)


def _failed(bf: Backfill, lo: Any, hi: Any, reason: str) -> BackfillFailed:
    return BackfillFailed(
        f"backfill {bf.name} failed on keys {lo!r}..{hi!r}: {reason}; "
        "earlier batches stay committed and a rerun resumes at this batch"
    )


def _call_function(connection: Connection, bf: Backfill, lo: Any, hi: Any) -> int | None:
    """bf.function(connection, lo, hi), held to its contract: it may not end the batch's
    transaction (a commit would make the work outlive its cursor, so a rerun applied it twice;
    a rollback would lose it while the cursor moved on), and it returns a row count or None."""
    ended: list[str] = []

    def refuse(what: str) -> Callable[..., None]:
        def listener(*_args: Any) -> None:
            ended.append(what)
            raise _TransactionEnded(what)

        return listener

    listeners = [("commit", refuse("commit")), ("rollback", refuse("rollback"))]
    for name, listener in listeners:
        sa.event.listen(connection, name, listener)
    try:
        changed = bf.function(connection, lo, hi)
    except _TransactionEnded:
        changed = None
    finally:
        for name, listener in listeners:
            sa.event.remove(connection, name, listener)
        if ended:
            # The refused call left SQLAlchemy's transaction closed and the driver's open: drop
            # the connection so the work goes with it (nothing later commits it by accident).
            connection.invalidate()
    if ended:
        raise _failed(
            bf,
            lo,
            hi,
            f"the function called connection.{ended[0]}(); a batch function must leave the "
            "batch's transaction to the runner (it commits the work and the cursor together)",
        )
    if changed is not None and (isinstance(changed, bool) or not isinstance(changed, int)):
        raise _failed(
            bf,
            lo,
            hi,
            f"the function returned {type(changed).__name__}, not a row count (int) or None",
        )
    return changed


class _TransactionEnded(Exception):
    """A batch function tried to commit or roll back the batch's transaction."""


def _next_range(
    connection: Connection, column: sa.Column, last_key: str | None, batch_size: int
) -> tuple[Any, Any, int]:
    """(first key, last key, number of keys) of the next batch: index probes, no aggregate
    over the key (PostgreSQL has no min()/max() for uuid)."""
    after = progress.keys_after(column, progress.decode_key(last_key, column))
    lo, hi = connection.execute(
        sa.select(
            after.limit(1).scalar_subquery(),
            after.offset(batch_size - 1).limit(1).scalar_subquery(),
        )
    ).one()
    if lo is None:
        return None, None, 0
    if hi is not None:
        return lo, hi, batch_size
    # The last, short batch: its end is the largest key.
    hi = connection.execute(after.order_by(None).order_by(column.desc()).limit(1)).scalar()
    count = connection.execute(sa.select(sa.func.count()).select_from(after.subquery())).scalar()
    return lo, hi, int(count or 0)


def _transient(exc: BaseException) -> bool:
    """A lost connection, a timeout or a lock conflict: not the backfill's own fault. Decided
    by SQLSTATE (PostgreSQL) or result code (SQLite), never by words in the message: a SQL
    error naming a column `connection_id` is the backfill's fault (exit 8)."""
    if isinstance(exc, DatabaseUnavailable):
        return True  # a statement past DB_COMMAND_TIMEOUT, a stall (db/stalls.py)
    if not isinstance(exc, sa.exc.DBAPIError):
        return isinstance(exc, ConnectionError | TimeoutError) and not isinstance(
            exc, FileNotFoundError
        )
    if exc.connection_invalidated:
        return True
    state = sqlstate(exc)
    if state is None:
        # sqlite3 errors carry their result code (Python 3.11+); extended codes such as
        # SQLITE_IOERR_WRITE fold to their primary code.
        name = str(getattr(exc.orig, "sqlite_errorname", ""))
        return "_".join(name.split("_")[:2]) in SQLITE_TRANSIENT
    return state in RETRY_SQLSTATES or state[:2] in {"08", "53", "57", "58"}


def _reason(exc: BaseException) -> str:
    """The first line of the driver's (or the function's) own message, never parameters."""
    orig = getattr(exc, "orig", None) if isinstance(exc, sa.exc.DBAPIError) else exc
    text = str(orig or exc).strip().splitlines()
    return f"{type(orig or exc).__name__}: {text[0]}" if text else type(orig or exc).__name__
