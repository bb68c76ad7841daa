"""PostgreSQL's fast path for fake rows: binary COPY straight into the table.

`copy_batches()` is shared by `seed fake users` and `seed fake MODEL`. Generated rows are
plain tuples; each batch is one `COPY ... FROM STDIN (FORMAT binary)` into the real table
(asyncpg's `copy_records_to_table`), so a fresh run costs what a raw COPY costs. The next
batch is generated in a worker thread while the server takes the current one.

Unique columns: a fresh run never conflicts, but a rerun with the same seed, a value a
person already created, or a concurrent run can. Batches therefore go in groups, each under
a SAVEPOINT. A unique violation rolls the group back and sends it (and every later group)
through `fallback`: COPY into a temporary table, then `INSERT ... SELECT ... ON CONFLICT DO
NOTHING`, which skips the rows that conflict. Groups are sized so a run opens at most
MAX_SAVEPOINTS savepoints (PostgreSQL keeps 64 subtransactions per backend in shared memory;
beyond that every other session's snapshots get slower while the run lasts).

Progress: `progress(n)` is called once a batch is in the table (uncommitted, in this
transaction), and with a negative n when a rolled-back group takes its rows out again,
so a bar at 100% means every row is written and only the commit is left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from app.errors import AppException, ErrorCode

MAX_SAVEPOINTS = 60
MAX_GROUP_ROWS = 200_000
Progress = Callable[[int], None]
Fallback = Callable[[list[tuple[Any, ...]]], Awaitable[int]]


def group_rows(count: int, batch_size: int) -> int:
    """Rows per savepoint group: whole batches, at most MAX_SAVEPOINTS groups if it can."""
    wanted = -(-count // MAX_SAVEPOINTS)
    batches = max(1, -(-min(wanted, MAX_GROUP_ROWS) // batch_size))
    return batches * batch_size


def _next_in_thread(batches: Iterator[list[tuple[Any, ...]]]) -> asyncio.Future[Any]:
    """The next batch (None at the end), generated in a worker thread while we write."""
    return asyncio.ensure_future(asyncio.to_thread(next, batches, None))


async def copy_batches(
    raw: Any,
    *,
    table: str,
    columns: tuple[str, ...] | list[str],
    batches: Iterator[list[tuple[Any, ...]]],
    fallback: Fallback,
    count: int,
    batch_size: int,
    progress: Progress | None = None,
) -> int:
    """COPY every batch into `table` (an asyncpg connection inside a transaction); rows created.

    Raises a 422 AppException naming the constraint when a row breaks one other than a unique
    one (a foreign key, a check, NOT NULL): only a factory's values can do that.
    """
    import asyncpg

    per_group = group_rows(count, batch_size)
    created = 0
    direct = True
    group: list[list[tuple[Any, ...]]] = []
    copied = 0  # rows of the open group already in the table

    async def close_group(ok: bool) -> None:
        nonlocal group, copied
        if group:
            await raw.execute(
                "RELEASE SAVEPOINT seed_fake" if ok else "ROLLBACK TO SAVEPOINT seed_fake"
            )
        group, copied = [], 0

    pending = _next_in_thread(batches)
    try:
        while (batch := await pending) is not None:
            pending = _next_in_thread(batches)
            if direct:
                if not group:
                    await raw.execute("SAVEPOINT seed_fake")
                group.append(batch)
                try:
                    await raw.copy_records_to_table(table, records=batch, columns=list(columns))
                except asyncpg.UniqueViolationError:
                    # Take the group's rows out again and let the fallback skip the conflicts.
                    redo = group
                    if progress is not None and copied:
                        progress(-copied)
                    await close_group(ok=False)
                    await raw.execute("RELEASE SAVEPOINT seed_fake")
                    direct = False
                    for rows in redo:
                        created += await fallback(rows)
                        if progress is not None:
                            progress(len(rows))
                    continue
                created += len(batch)
                copied += len(batch)
                if progress is not None:
                    progress(len(batch))
                if copied >= per_group:
                    await close_group(ok=True)
            else:
                created += await fallback(batch)
                if progress is not None:
                    progress(len(batch))
        await close_group(ok=True)
    except asyncpg.IntegrityConstraintViolationError as exc:
        name = getattr(exc, "constraint_name", None) or type(exc).__name__
        raise AppException(
            422, f"{table}: a fake row breaks the constraint {name}", ErrorCode.INVALID_SEED
        ) from None
    finally:
        pending.cancel()  # a no-op once done; never leave a generation running on errors
    return created
