"""Run declared backfills batch by batch, outside any DDL transaction.

Each batch is one short transaction on one connection: lock the progress row (FOR UPDATE;
SQLite: BEGIN IMMEDIATE), read the cursor, find the next `batch_size` keys after it (a keyset
range scan on the key's index), run the batch's SQL or function on `[lo, hi]`, move the cursor
to `hi`, commit. The work and the cursor commit together or not at all, so a run stopped by
Ctrl-C, SIGTERM, a crash or `--max-seconds` resumes at the first key not yet done and never
applies a batch twice, even with two runners at once (the row lock serialises their batches).

PostgreSQL extras: a session-level advisory lock per backfill (a second runner of the same one
is refused, exit 4, and `migrate status` can say "running"); MIGRATION_LOCK_TIMEOUT /
MIGRATION_STATEMENT_TIMEOUT as SET LOCAL in every batch; a batch that hits lock_timeout or a
deadlock is retried; between batches the run waits while replication lag or the number of
sessions waiting for a lock exceed their bounds (GitLab's batched background migrations and
Shopify's maintenance_tasks throttle the same way).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.backfill import postgres as pg
from db.backfill import progress
from db.backfill.batch import RETRY_SQLSTATES, Batch, one_batch, timeouts
from db.backfill.declaration import Backfill
from db.backfill.discovery import Declared, select
from db.config import DatabaseSettings
from db.errors import InvalidArgument, sqlstate
from db.migrations import script_directory
from db.progress import ledger

RETRIES = 5


@dataclass
class Options:
    """batch_size / pause (seconds) override the declaration's; max_seconds bounds the run."""

    batch_size: int | None = None
    pause: float | None = None
    max_seconds: float | None = None
    dry_run: bool = False
    restart: bool = False  # walk again from the first key under the declaration as it is now
    max_lag: float = 10.0  # seconds of replication lag (PostgreSQL)
    max_lock_waiters: int = 10  # sessions waiting for a lock in this database (PostgreSQL)


@dataclass
class Report:
    """One backfill's run. rows/batches/changed: this run; rows_done: all runs together.

    state: 'complete', 'stopped' (--max-seconds reached; run again to resume) or 'planned'
    (--dry-run: `remaining` keys in `batches` batches would run).
    """

    name: str
    revision: str
    table: str
    key: str
    batch_size: int
    state: str = "pending"
    rows: int = 0
    batches: int = 0
    changed: int = 0
    rows_done: int = 0
    remaining: int | None = None
    last_key: str | None = None
    seconds: float = 0.0
    throttled_seconds: float = 0.0
    retries: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


# Told about progress: (event, report, detail); event is 'start', 'batch', 'throttle' (detail:
# the reason), 'retry' (detail: the error) or 'finish'.
OnEvent = Callable[[str, Report, str | None], None]


@dataclass
class RunState:
    """One `run` call: its options, deadline and reports (the PostgreSQL health check reads it)."""

    options: Options
    settings: DatabaseSettings
    on_event: OnEvent | None
    deadline: float | None
    reports: list[Report] = field(default_factory=list)

    def emit(self, event: str, report: Report, detail: str | None = None) -> None:
        if self.on_event is not None:
            self.on_event(event, report, detail)

    def left(self) -> float:
        return math.inf if self.deadline is None else self.deadline - time.monotonic()


async def run(
    engine: AsyncEngine,
    target: str | None,
    options: Options | None = None,
    *,
    settings: DatabaseSettings | None = None,
    on_event: OnEvent | None = None,
) -> list[Report]:
    """Run `target` (a backfill name or revision; None: every backfill still owed), in order."""
    options = options or Options()
    deadline = None if options.max_seconds is None else time.monotonic() + options.max_seconds
    state = RunState(options, settings or DatabaseSettings(), on_event, deadline)
    async with engine.connect() as conn:
        chosen = await conn.run_sync(lambda c: select(c, script_directory(), target))
        if not options.restart:
            # Every one refused before any runs: a changed declaration stops the whole command.
            await conn.run_sync(_check_declarations, chosen)
        await conn.commit()
        for item in chosen:
            report = _report(item, options)
            state.reports.append(report)
            if options.dry_run:
                await _plan(conn, item.backfill, report, restart=options.restart)
            elif state.left() <= 0:
                report.state = "stopped"
            else:
                await _run_locked(conn, item.backfill, report, state)
    return state.reports


def _check_declarations(connection: Connection, chosen: list[Declared]) -> None:
    rows = progress.all_rows(connection)
    for item in chosen:
        progress.check_declaration(rows.get(item.backfill.name), item.backfill)


def _report(item: Declared, options: Options) -> Report:
    bf = item.backfill
    return Report(
        name=bf.name,
        revision=item.revision,
        table=bf.table,
        key=bf.key,
        batch_size=options.batch_size or bf.batch_size,
    )


def _count_remaining(
    connection: Connection, bf: Backfill, restart: bool = False
) -> tuple[sa.Column, int, Any]:
    """(key column, keys past the cursor, progress row); `restart`: as if no batch had run."""
    if not progress.key_exists(connection, bf.table, bf.key):
        gone = "table" if not sa.inspect(connection).has_table(bf.table) else "key column"
        raise InvalidArgument(
            f"backfill {bf.name}: its {gone} {bf.table}"
            + (f".{bf.key}" if gone == "key column" else "")
            + " no longer exists: "
            + progress.GONE.format(name=bf.name)
        )
    column = progress.key_column(connection, bf.table, bf.key)
    progress.check_key(connection, column)
    row = None if restart else progress.get(connection, bf.name)
    progress.check_declaration(row, bf)
    last_key = row.last_key if row else None
    if row is not None and row.complete:
        return column, 0, row
    keys = progress.keys_after(column, progress.decode_key(last_key, column)).subquery()
    count = connection.execute(sa.select(sa.func.count()).select_from(keys)).scalar_one()
    return column, int(count), row


async def _plan(conn: AsyncConnection, bf: Backfill, report: Report, *, restart: bool) -> None:
    _column, count, row = await conn.run_sync(_count_remaining, bf, restart)
    await conn.rollback()
    report.state = "planned"
    report.remaining = count
    report.batches = math.ceil(count / report.batch_size)
    report.rows_done = row.rows_done if row else 0
    report.last_key = row.last_key if row else None


async def _run_locked(conn: AsyncConnection, bf: Backfill, report: Report, run: RunState) -> None:
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        await pg.lock(conn, bf.name)
    # Held here: after an invalidation, reading conn.info would reconnect.
    info = conn.info
    try:
        if not postgres:
            info["sqlite_begin"] = "IMMEDIATE"  # the batch's write lock from its first read
        await _run_one(conn, bf, report, run)
    except BaseException:
        await _abandon(conn)
        raise
    finally:
        info.pop("sqlite_begin", None)
        if postgres and not conn.invalidated:
            await asyncio.shield(pg.unlock(conn, bf.name))


async def _abandon(conn: AsyncConnection) -> None:
    """Roll back the batch in flight; a connection that cannot is dropped (ending its session
    ends the transaction and releases the locks)."""
    try:
        await asyncio.shield(conn.rollback())
    except BaseException:
        await asyncio.shield(conn.invalidate())


async def _run_one(conn: AsyncConnection, bf: Backfill, report: Report, run: RunState) -> None:
    await conn.run_sync(lambda c: _prepare(c, bf, run.options.restart))
    column, count, row = await conn.run_sync(_count_remaining, bf)
    await conn.commit()
    report.remaining = count
    report.rows_done = row.rows_done if row else 0
    pause = bf.pause if run.options.pause is None else run.options.pause
    started = time.monotonic()
    run.emit("start", report)
    try:
        while True:
            if run.left() <= 0 or not await pg.healthy(conn, report, run):
                report.state = "stopped"
                break
            batch = await _batch_with_retries(conn, bf, column, report, run)
            if batch is None:
                report.state = "complete"
                break
            report.batches += 1
            report.rows += batch.keys
            report.rows_done += batch.keys
            report.changed += batch.changed
            report.remaining = max(0, (report.remaining or 0) - batch.keys)
            report.last_key = progress.encode_key(batch.last_key)
            report.seconds = time.monotonic() - started
            _record_committed(report)
            run.emit("batch", report)
            if pause > 0:
                await asyncio.sleep(max(0.0, min(pause, run.left())))
    finally:
        report.seconds = time.monotonic() - started
    run.emit("finish", report)


def _prepare(connection: Connection, bf: Backfill, restart: bool) -> None:
    """A progress row for `bf` (even without .declare()) that belongs to `bf` as declared now:
    reset by --restart, adopted when no batch has run yet, else refused if it changed."""
    progress.declare(connection, bf)
    row = progress.get(connection, bf.name, for_update=True)
    if restart:
        progress.restart(connection, bf)
        return
    progress.check_declaration(row, bf)
    progress.adopt(connection, row, bf)


def _record_committed(report: Report) -> None:
    """What an interruption's message says stayed (db/progress.py): one line per backfill,
    replaced after each committed batch rather than one entry per batch."""
    entries = ledger().committed
    prefix = f"backfill {report.name}:"
    entries[:] = [entry for entry in entries if not entry[1].startswith(prefix)]
    done = f"{report.batches} batches ({report.rows} keys) this run; run it again to resume"
    entries.append(("", f"{prefix} {done}"))


async def _batch_with_retries(
    conn: AsyncConnection, bf: Backfill, column: sa.Column, report: Report, run: RunState
) -> Batch | None:
    limits = timeouts(run.settings)
    for attempt in range(RETRIES + 1):
        try:
            batch = await conn.run_sync(one_batch, bf, column, report.batch_size, limits)
            await conn.commit()
            return batch
        except sa.exc.DBAPIError as exc:
            await _abandon(conn)
            # A dropped connection lost its session (and the backfill's lock): never retry on it.
            retry = sqlstate(exc) in RETRY_SQLSTATES and not conn.invalidated
            if not retry or attempt == RETRIES:
                raise
            report.retries += 1
            run.emit("retry", report, sqlstate(exc))
            await asyncio.sleep(0.5 * (attempt + 1))
    return None  # unreachable: the last attempt returns or raises
