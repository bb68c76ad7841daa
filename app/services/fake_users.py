"""Fake users in bulk, for development and load tests, in the caller's transaction.

Rows are drawn from Faker's own name lists (Faker is never called per row) with the row
index making each email unique, so a `seed` gives the same rows every time and a rerun skips
them all. Rows are streamed in batches, never held in memory all at once:

- PostgreSQL: binary COPY straight into `users` (app/services/fake_copy.py); a batch group
  that meets an existing email is rolled back to its savepoint and goes, like every later
  one and every batch of a run with --role, through a temporary table and one
  INSERT ... SELECT of the emails not there yet, ON CONFLICT DO NOTHING.
- SQLite: chunked executemany of INSERT ... ON CONFLICT DO NOTHING.

The one password is hashed once; every row gets that hash.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import User
from app.models._columns import utcnow
from app.schemas.seed import FakeUsersResult
from app.services.fake_copy import copy_batches
from app.services.fake_users_insert import COLUMNS, AntiJoinInsert

BATCH_SIZE = 10_000
Progress = Callable[[int], None]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower()) or "x"


def _pool(names: Any) -> tuple[list[str], list[str], list[float]]:
    """Names, their email slugs and cumulative weights (Faker's lists carry frequencies)."""
    from itertools import accumulate

    items = list(names.items()) if hasattr(names, "items") else [(n, 1.0) for n in names]
    return (
        [name for name, _ in items],
        [_slug(name) for name, _ in items],
        list(accumulate(float(weight) for _, weight in items)),
    )


def fake_people(count: int, *, seed: int) -> Iterator[tuple[str, str]]:
    """`count` (email, full_name) pairs, the same ones for the same `seed`."""
    # Faker's own en_US name lists, drawn from with their frequencies: the same realistic
    # names as Faker().first_name(), without a Faker call (or a Faker instance) per row.
    from faker.providers.person.en_US import Provider

    firsts, first_slugs, first_weights = _pool(Provider.first_names)
    lasts, last_slugs, last_weights = _pool(Provider.last_names)
    rng = random.Random(seed)
    first_range, last_range = range(len(firsts)), range(len(lasts))
    for start in range(0, count, BATCH_SIZE):
        size = min(BATCH_SIZE, count - start)
        # One call per batch, not per row: choices() is much cheaper per value than randrange().
        # Always a full batch, so the first N rows are the same whatever the count.
        picks = zip(
            rng.choices(first_range, cum_weights=first_weights, k=BATCH_SIZE)[:size],
            rng.choices(last_range, cum_weights=last_weights, k=BATCH_SIZE)[:size],
            strict=True,
        )
        for index, (f, last) in enumerate(picks, start):
            yield (
                f"{first_slugs[f]}.{last_slugs[last]}.{index}@example.com",
                f"{firsts[f]} {lasts[last]}",
            )


def fake_rows(
    count: int, *, seed: int, hashed_password: str, now: datetime
) -> Iterator[tuple[Any, ...]]:
    """Whole `users` rows in COLUMNS order (the SQLite path and bench/seed.py)."""
    for email, full_name in fake_people(count, seed=seed):
        yield (email, full_name, hashed_password, True, False, now, now)


def _batches(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def hash_in_background(password: SecretStr) -> Future[str]:
    """Start hashing `password` (argon2, ~0.25 s of CPU) in its own thread; the hash.

    argon2 releases the GIL, so the hash is made while the caller connects and the first
    rows are generated: `seed fake users` starts it as soon as it has read the password.
    """
    from app.security import hash_password

    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-fake-hash")
    hashing = hasher.submit(hash_password, password.get_secret_value())
    hasher.shutdown(wait=False)
    return hashing


async def create_fake_users(
    db: AsyncSession,
    *,
    count: int,
    password: SecretStr | Future[str],
    seed: int | None = None,
    role: str | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    actor: str = "manage",
) -> FakeUsersResult:
    """Insert `count` fake users (existing emails are skipped); optionally grant `role`.

    `password`: the one password every row gets, or its hash already under way
    (`hash_in_background`). One `seed.fake_users` audit row per run that creates any (count,
    seed, role), not one per user: a million audit rows would double the work.
    """
    from app.services import audit
    from app.services.roles import get_role

    started = time.perf_counter()
    # The generating thread waits for the hash only to put it in the first row.
    hashing = password if isinstance(password, Future) else hash_in_background(password)
    try:
        role_id = (await get_role(db, name=role)).id if role is not None else None
        used_seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        connection = await db.connection()
        if connection.dialect.name == "postgresql":
            created = await _copy_postgresql(
                db,
                lambda: fake_people(count, seed=used_seed),
                hashing,
                role_id,
                batch_size,
                progress,
            )
        else:
            hashed = await asyncio.wrap_future(hashing)
            rows = fake_rows(count, seed=used_seed, hashed_password=hashed, now=utcnow())
            created = await _insert_sqlite(db, rows, role_id, batch_size, progress)
    finally:
        hashing.cancel()  # a no-op once started; a hash not begun never runs
    if created:
        await audit.record(
            db,
            actor=actor,
            action="seed.fake_users",
            target="users",
            details={"requested": count, "created": created, "seed": used_seed, "role": role},
        )
    return FakeUsersResult(
        requested=count,
        created=created,
        skipped=count - created,
        role=role,
        seed=used_seed,
        seconds=round(time.perf_counter() - started, 3),
    )


async def _copy_postgresql(
    db: AsyncSession,
    people: Callable[[], Iterator[tuple[str, str]]],
    hashing: Future[str],
    role_id: int | None,
    batch_size: int,
    progress: Progress | None,
) -> int:
    """COPY straight into `users` (app/services/fake_copy.py); with a role, through a
    temporary table so the INSERT can return the new ids to link."""

    connection = await db.connection()
    # Through SQLAlchemy first, so the driver connection is inside this session's transaction.
    await connection.exec_driver_sql("SELECT 1")
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None and raw.is_in_transaction()
    now = utcnow()
    if role_id is not None:
        fallback = AntiJoinInsert(raw, await asyncio.wrap_future(hashing), now, role_id)
        created = 0
        for batch in _batches(people(), batch_size):
            created += await fallback(batch)
            if progress is not None:
                progress(len(batch))
            await asyncio.sleep(0)  # let Ctrl-C (task cancellation) in between batches
    else:

        def rows() -> Iterator[tuple[Any, ...]]:  # runs in copy_batches' generating thread
            hashed = hashing.result()
            for email, name in people():
                yield (email, name, hashed, True, False, now, now)

        # The fallback runs only after a batch was generated, so the hash is there by then.
        fallback = AntiJoinInsert(raw, None, now, role_id, hashing=hashing)
        created = await copy_batches(
            raw,
            table="users",
            columns=COLUMNS,
            make_batches=lambda: _batches(rows(), batch_size),
            fallback=fallback,
            progress=progress,
        )
    await fallback.close()
    return created


async def _insert_sqlite(
    db: AsyncSession,
    rows: Iterator[tuple[Any, ...]],
    role_id: int | None,
    batch_size: int,
    progress: Progress | None,
) -> int:
    from sqlalchemy.dialects.sqlite import insert

    table = User.__table__
    # SQLite has one writer at a time and INTEGER PRIMARY KEY ids grow: ours are the ids above.
    before = (await db.exec(select(func.coalesce(func.max(table.c.id), 0)))).one()[0]
    statement = insert(table).on_conflict_do_nothing(index_elements=["email"])
    for batch in _batches(rows, batch_size):
        await db.exec(statement, params=[dict(zip(COLUMNS, row, strict=True)) for row in batch])
        if progress is not None:
            progress(len(batch))
    if role_id is not None:
        await db.exec(
            text(
                "INSERT INTO user_roles (user_id, role_id) "
                "SELECT id, :role FROM users WHERE id > :before"
            ),
            params={"role": role_id, "before": before},
        )
    query = select(func.count()).select_from(table).where(table.c.id > before)
    return int((await db.exec(query)).one()[0])
