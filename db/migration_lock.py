"""The migration lock: one process migrates a database at a time, the others wait.

PostgreSQL: a session-level advisory lock on the migration connection (not the
transaction-level one: Alembic commits per revision, and autocommit blocks commit too).
We poll `pg_try_advisory_lock` rather than block in `pg_advisory_lock`, so a waiter can say
who holds the lock (pg_stat_activity) and give up after `timeout` seconds.

SQLite: one exclusive transaction around the whole run (`BEGIN EXCLUSIVE`, see
db/engine.py); a second writer waits up to `timeout` seconds (the busy timeout). Alembic
sees the connection already in a transaction and runs every revision inside it. Foreign-key
enforcement is off from before BEGIN until after the transaction ends, so table rebuilds keep
their children's rows; db/migration_run.py runs `PRAGMA foreign_key_check` before committing.

Lock and statement timeouts for the migrations themselves (MIGRATION_LOCK_TIMEOUT,
MIGRATION_STATEMENT_TIMEOUT) are set only after the lock is held: waiting for our own lock
must never be cut short by them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from db import sqlite_foreign_keys
from db.config import DatabaseSettings, milliseconds
from db.errors import DatabaseUnavailable, InvalidArgument, LockNotAcquired
from db.stalls import deadline_bound

# pg_advisory_lock(bigint) key: "mana" in ASCII. Below 2**31, so pg_locks shows it as
# classid = 0, objid = key, objsubid = 1.
MIGRATION_LOCK_KEY = 0x6D616E61
POLL_INTERVAL = 0.2
# The last poll may still be in flight when the wait ends: it gets this long to answer.
DEADLINE_GRACE = 0.25
LOCKED_ERROR_CODE = "MIGRATION_LOCKED"
_EXCLUSIVE = "EXCLUSIVE"

_HOLDER_SQL = text(
    """
    SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted
      AND l.classid = 0 AND l.objid = :key AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    LIMIT 1
    """
)


@dataclass(frozen=True)
class LockHolder:
    """The session holding the migration lock, as pg_stat_activity reports it."""

    pid: int
    application_name: str | None
    client_addr: str | None

    def describe(self) -> str:
        application = self.application_name or "no application_name"
        where = self.client_addr or "a local socket"
        return f"pid {self.pid} ({application!r} from {where})"


# Called when a waiter starts waiting and whenever the holder changes (None: not known).
OnWait = Callable[[LockHolder | None], None]


def holds_exclusive_transaction(connection: Connection) -> bool:
    """True inside the SQLite exclusive transaction: reads must not end it."""
    return connection.info.get("sqlite_begin") == _EXCLUSIVE


def end_read(connection: Connection) -> None:
    """End the transaction a read autobegan, unless it is the SQLite lock's transaction.

    Alembic treats a connection already in a transaction as externally managed: it would
    never commit (and `autocommit_block()` would fail), so PostgreSQL reads are committed.
    """
    if not holds_exclusive_transaction(connection):
        connection.commit()


def _locked(timeout: float, holder: str) -> LockNotAcquired:
    return LockNotAcquired(
        f"migration lock not acquired within {timeout:g}s: held by {holder}",
        code=LOCKED_ERROR_CODE,
    )


async def _pg_holder(conn: AsyncConnection) -> LockHolder | None:
    row = (await conn.execute(_HOLDER_SQL, {"key": MIGRATION_LOCK_KEY})).first()
    return None if row is None else LockHolder(row.pid, row.application_name, row.client_addr)


async def _pg_acquire(conn: AsyncConnection, timeout: float, on_wait: OnWait | None) -> None:
    deadline = time.monotonic() + timeout
    reported: Any = object()
    holder: LockHolder | None = None
    while True:
        result = await conn.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
        )
        if result.scalar_one():
            await conn.commit()
            return
        holder = await _pg_holder(conn) or holder
        await conn.commit()  # never sit idle in a transaction while waiting
        if on_wait is not None and holder != reported:
            on_wait(holder)
            reported = holder
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _locked(timeout, holder.describe() if holder else "another session")
        await asyncio.sleep(min(POLL_INTERVAL, remaining))


async def _pg_acquire_by_deadline(
    conn: AsyncConnection, timeout: float, on_wait: OnWait | None
) -> None:
    """`timeout` is a real deadline: a poll that gets no answer (a stalled network) is cut
    off too, not only a lock that stays taken."""
    if not timeout >= 0:  # nan: no deadline would ever pass
        raise InvalidArgument(f"--lock-timeout must be a number of seconds, not {timeout}")
    try:
        async with asyncio.timeout(timeout + DEADLINE_GRACE):
            with deadline_bound():
                await _pg_acquire(conn, timeout, on_wait)
    except TimeoutError:
        raise DatabaseUnavailable(
            f"database unavailable: timed out: no answer while waiting {timeout:g}s for the "
            "migration lock (--lock-timeout); the network or the server stalled",
            code="DB_TIMEOUT",
        ) from None


async def _pg_set_timeouts(conn: AsyncConnection, settings: DatabaseSettings) -> None:
    for name, seconds in (
        ("lock_timeout", settings.migration_lock_timeout),
        ("statement_timeout", settings.migration_statement_timeout),
    ):
        if seconds is not None:
            # SET takes no bind parameters; the value is an int we formatted ourselves.
            await conn.execute(text(f"SET {name} = {milliseconds(seconds)}"))
    await conn.commit()


async def _pg_release(conn: AsyncConnection) -> None:
    if conn.invalidated:
        return  # closed: the session, and its advisory lock, are gone
    try:
        if conn.in_transaction():
            await conn.rollback()
        await conn.execute(text("RESET lock_timeout"))
        await conn.execute(text("RESET statement_timeout"))
        await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        await conn.commit()
    except Exception:
        # A broken connection: closing it ends the session, which releases the lock.
        await conn.invalidate()


async def _sqlite_busy_timeout(conn: AsyncConnection, seconds: float) -> None:
    await conn.exec_driver_sql(f"PRAGMA busy_timeout = {milliseconds(seconds)}")
    await conn.commit()


async def _sqlite_acquire(conn: AsyncConnection, timeout: float) -> None:
    await _sqlite_busy_timeout(conn, timeout)
    # Before BEGIN: SQLite ignores the pragma inside a transaction (db/sqlite_foreign_keys.py).
    await conn.run_sync(sqlite_foreign_keys.set_enforcement, on=False)
    conn.info["sqlite_begin"] = _EXCLUSIVE
    try:
        await conn.begin()
    except sa_exc.OperationalError as exc:
        conn.info.pop("sqlite_begin", None)
        await conn.run_sync(sqlite_foreign_keys.set_enforcement, on=True)
        if "locked" in str(exc.orig):
            raise _locked(timeout, "another process writing this SQLite database") from None
        raise


async def _sqlite_release(conn: AsyncConnection, settings: DatabaseSettings) -> None:
    if conn.invalidated:
        return  # an interrupted statement closed the connection: the lock went with it
    try:
        if conn.in_transaction():
            await conn.rollback()
        conn.info.pop("sqlite_begin", None)
        await conn.run_sync(sqlite_foreign_keys.set_enforcement, on=True)
        await _sqlite_busy_timeout(conn, settings.db_sqlite_busy_timeout)
    except Exception:
        # Never replace the error that ended the run; closing the connection unlocks.
        await conn.invalidate()


@asynccontextmanager
async def migration_lock(
    conn: AsyncConnection,
    *,
    timeout: float,
    settings: DatabaseSettings,
    on_wait: OnWait | None = None,
) -> AsyncIterator[None]:
    """Hold the migration lock on `conn` for the body; the body commits its own work.

    Raises LockNotAcquired (code MIGRATION_LOCKED) naming the holder after `timeout` seconds.
    """
    if conn.dialect.name == "postgresql":
        await _pg_acquire_by_deadline(conn, timeout, on_wait)
        try:
            await _pg_set_timeouts(conn, settings)
            yield
        finally:
            await asyncio.shield(_pg_release(conn))
    else:
        await _sqlite_acquire(conn, timeout)
        try:
            yield
        finally:
            await asyncio.shield(_sqlite_release(conn, settings))
