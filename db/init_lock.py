"""The bootstrap lock: one `manage db init` at a time per database.

It is not the migration lock: the upgrade inside `db init` takes that one itself, on its own
connection. PostgreSQL: a session-level advisory lock on a key of its own, polled so a
waiter gives up after `timeout`. SQLite: an exclusive file lock beside the database file
(the database's own locks cannot span the several transactions of a bootstrap).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.errors import DatabaseUnavailable, LockNotAcquired
from db.stalls import deadline_bound

# pg_advisory_lock(bigint) key: "init" in ASCII (the migration lock uses "mana").
INIT_LOCK_KEY = 0x696E6974
POLL_INTERVAL = 0.2
INIT_LOCKED = "INIT_LOCKED"


def _locked(timeout: float) -> LockNotAcquired:
    return LockNotAcquired(
        f"another `manage db init` still holds the bootstrap lock after {timeout:g}s",
        code=INIT_LOCKED,
    )


async def _pg_acquire(conn: AsyncConnection, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not (
        await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": INIT_LOCK_KEY})
    ).scalar():
        await conn.rollback()
        if time.monotonic() >= deadline:
            raise _locked(timeout)
        await asyncio.sleep(POLL_INTERVAL)
    await conn.commit()


@contextlib.asynccontextmanager
async def _pg_lock(engine: AsyncEngine, timeout: float) -> AsyncIterator[None]:
    async with engine.connect() as conn:
        try:
            # A real deadline: a poll that gets no answer (a stalled network) is cut off too.
            async with asyncio.timeout(timeout + POLL_INTERVAL + 0.3):
                with deadline_bound():
                    await _pg_acquire(conn, timeout)
        except TimeoutError:
            raise DatabaseUnavailable(
                f"database unavailable: timed out: no answer while waiting {timeout:g}s for the "
                "bootstrap lock (--lock-timeout); the network or the server stalled",
                code="DB_TIMEOUT",
            ) from None
        try:
            yield
        finally:
            await asyncio.shield(
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": INIT_LOCK_KEY})
            )
            await asyncio.shield(conn.commit())


@contextlib.asynccontextmanager
async def _file_lock(path: Path, timeout: float) -> AsyncIterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _locked(timeout) from None
                await asyncio.sleep(POLL_INTERVAL)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _sqlite_lock_path(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(f"{database}.init-lock")


@contextlib.asynccontextmanager
async def init_lock(engine: AsyncEngine, *, timeout: float) -> AsyncIterator[None]:
    """Hold the bootstrap lock for the body; LockNotAcquired(INIT_LOCKED) after `timeout`."""
    if engine.dialect.name == "postgresql":
        async with _pg_lock(engine, timeout):
            yield
        return
    path = _sqlite_lock_path(engine.url.render_as_string(hide_password=False))
    if path is None:
        yield
        return
    async with _file_lock(path, timeout):
        yield
