"""PostgreSQL's fast path for fake rows: binary COPY straight into the table.

`copy_batches()` is shared by `seed fake users` and `seed fake MODEL`. Generated rows are
plain tuples; each batch is one `COPY ... FROM STDIN (FORMAT binary)` into the real table
(asyncpg's `copy_records_to_table`), so a fresh run costs what a raw COPY costs. The next
batch is generated in a worker thread while the server takes the current one.

Unique columns: a fresh run never conflicts, but a rerun with the same seed, a value a
person already created, or a concurrent run can. The direct COPYs therefore run under one
SAVEPOINT. A unique violation rolls them all back and the run starts over through
`fallback`, batch by batch: COPY into a temporary table, then `INSERT ... SELECT ... ON
CONFLICT DO NOTHING`, which skips the rows that conflict. `make_batches()` gives the same
rows again (they come from the seed), so nothing is held in memory beyond two batches.
A rerun meets its first conflict in the first batch, so it loses almost nothing; a conflict
late in a big run costs the rows copied before it. One savepoint, not one per batch: each
savepoint is a subtransaction, and COPY into a table under many of them measured about a
quarter slower (and past 64 they slow every other session's snapshots).

Progress: `progress(n)` is called once a batch is in the table (uncommitted, in this
transaction), and with a negative n when the rollback takes the rows out again, so a bar at
100% means every row is written and only the commit is left.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing
from typing import Any

from app.errors import AppException, ErrorCode

CANCEL_REQUEST_SECONDS = 5.0
Progress = Callable[[int], None]
Batches = Iterator[list[tuple[Any, ...]]]
Fallback = Callable[[list[tuple[Any, ...]]], Awaitable[int]]


async def copy_rows(raw: Any, table: str, records: list[tuple[Any, ...]], columns: Any) -> None:
    """asyncpg's `copy_records_to_table`, raising at once when the connection is lost.

    asyncpg waits for the socket to drain between 512 KiB chunks of a COPY; a connection
    lost while that wait is on never wakes it (only the command timeout, 300 s by default,
    would). So the connection's termination listener cancels the COPY, and a lost connection
    is asyncpg's own ConnectionDoesNotExistError (exit 6, database unavailable) at once.
    """
    import asyncpg

    task = asyncio.current_task()
    assert task is not None
    lost = False
    before: set[asyncio.Task[Any]] = set()

    def on_lost(_connection: Any) -> None:
        nonlocal lost, before
        if not lost:
            lost, before = True, asyncio.all_tasks()
            task.cancel()

    raw.add_termination_listener(on_lost)
    try:
        await raw.copy_records_to_table(table, records=records, columns=list(columns))
    except asyncio.CancelledError:
        if not lost or task.uncancel() > 0:
            raise  # a real cancellation (Ctrl-C), not ours
        # asyncpg answers the cancellation with a cancel request on a new connection (a task
        # of its own): let it finish, within a deadline, rather than be cut off when the
        # event loop closes (that leaves an error in the log).
        spawned = asyncio.all_tasks() - before - {task}
        if spawned:
            await asyncio.wait(spawned, timeout=CANCEL_REQUEST_SECONDS)
        raise asyncpg.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        ) from None
    finally:
        raw.remove_termination_listener(on_lost)


def _next_in_thread(batches: Batches) -> asyncio.Future[Any]:
    """The next batch (None at the end), generated in a worker thread while we write."""
    return asyncio.ensure_future(asyncio.to_thread(next, batches, None))


async def copy_batches(
    raw: Any,
    *,
    table: str,
    columns: tuple[str, ...] | list[str],
    make_batches: Callable[[], Batches],
    fallback: Fallback,
    progress: Progress | None = None,
) -> int:
    """COPY every batch of `make_batches()` into `table` (an asyncpg connection inside a
    transaction); the number of rows created.

    Raises a 422 AppException naming the constraint when a row breaks one other than a unique
    one (a foreign key, a check, NOT NULL): only a factory's values can do that.
    """
    import asyncpg

    def advance(rows: int) -> None:
        if progress is not None and rows:
            progress(rows)

    written = 0
    try:
        await raw.execute("SAVEPOINT seed_fake")
        try:
            async with aclosing(_generated(make_batches())) as batches:
                async for batch in batches:
                    await copy_rows(raw, table, batch, columns)
                    written += len(batch)
                    advance(len(batch))
        except asyncpg.UniqueViolationError:
            await raw.execute("ROLLBACK TO SAVEPOINT seed_fake")
            await raw.execute("RELEASE SAVEPOINT seed_fake")
            advance(-written)
            created = 0
            async with aclosing(_generated(make_batches())) as batches:
                async for batch in batches:
                    created += await fallback(batch)
                    advance(len(batch))
            return created
        await raw.execute("RELEASE SAVEPOINT seed_fake")
        return written
    except asyncpg.IntegrityConstraintViolationError as exc:
        name = getattr(exc, "constraint_name", None) or type(exc).__name__
        raise AppException(
            422, f"{table}: a fake row breaks the constraint {name}", ErrorCode.INVALID_SEED
        ) from None


async def _generated(batches: Batches) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The batches, each next one generated in a worker thread while the caller writes this."""
    pending = _next_in_thread(batches)
    try:
        while (batch := await pending) is not None:
            pending = _next_in_thread(batches)
            yield batch
    finally:
        # A thread cannot be stopped: wait for the batch it is making (at most one), so no
        # generation still runs when the caller starts over or the transaction ends.
        await asyncio.wait([pending])
