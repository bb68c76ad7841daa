"""Fake rows for any table model (`seed fake MODEL`), in the caller's transaction.

Values come from `app/services/fake_values.py` (and a factory file's overrides), drawn in
batches from one `random.Random(seed)` and Faker pools seeded the same way, so a --seed
gives the same rows on every run and machine. Rows are written batch by batch and the
progress callback is told only after a batch is in the table (the bar tracks rows written):

- PostgreSQL: binary COPY straight into the table (app/services/fake_copy.py); once a
  unique value is already there, COPY into a temporary table, then one
  `INSERT ... SELECT ... ON CONFLICT DO NOTHING` per batch;
- SQLite: one executemany of `INSERT ... ON CONFLICT DO NOTHING` per batch.

A row that would break a unique constraint (a rerun with the same seed, a value already
there) is skipped and counted as skipped, never an error.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import AppException, ErrorCode
from app.schemas.seed import FakeRowsResult
from app.services.fake_copy import copy_batches, copy_rows
from app.services.fake_values import (
    ColumnPlan,
    constant,
    copy_encoder,
    pooled,
    python_default,
    stored_default,
    type_draw,
)
from app.services.seed_rows import invalid

BATCH_SIZE = 10_000
TEMP_TABLE = "_seed_fake_rows"
Progress = Callable[[int], None]


def unique_columns(table: Any) -> set[str]:
    """Columns unique on their own (a unique constraint or index of one column, or the key)."""
    found = {c.name for c in table.columns if c.unique}
    for constraint in table.constraints:
        columns = list(getattr(constraint, "columns", []))
        if len(columns) == 1 and constraint.__class__.__name__ in (
            "UniqueConstraint",
            "PrimaryKeyConstraint",
        ):
            found.add(columns[0].name)
    for index in table.indexes:
        if index.unique and len(index.columns) == 1:
            found.add(next(iter(index.columns)).name)
    return found


async def _parent_keys(db: AsyncSession, column: Any) -> list[Any]:
    """Every key of the referenced table that `column` may point at, in a stable order."""
    target = next(iter(column.foreign_keys)).column
    query = select(target).where(target.is_not(None)).distinct().order_by(target)
    return list((await db.exec(query)).scalars().all())


async def plan_columns(
    db: AsyncSession, model: Any, *, seed: int, factory: Path | None
) -> list[ColumnPlan]:
    """How each column of a fake row gets its value (422 if a column cannot be drawn)."""
    from faker import Faker

    faker = Faker()
    faker.seed_instance(seed)
    table = model.__table__
    unique = unique_columns(table)
    overrides = {}
    if factory is not None:
        from app.services.fake_factories import factory_plans

        overrides = factory_plans(model, factory, faker, unique=unique)
    plans: list[ColumnPlan] = []
    for column in table.columns:
        if column.name in overrides:
            plans.append(overrides[column.name])
            continue
        if column is table.autoincrement_column:
            continue  # the database numbers it
        default = python_default(model, column)
        if default is not None and not column.primary_key:
            plans.append(ColumnPlan(column.name, constant(stored_default(column, default()))))
            continue
        if column.foreign_keys:
            target = next(iter(column.foreign_keys)).column
            parents = [] if target.table is table else await _parent_keys(db, column)
            if parents:
                plans.append(ColumnPlan(column.name, pooled(parents)))
            elif column.nullable:
                plans.append(ColumnPlan(column.name, constant(None)))
            else:
                raise invalid(
                    f"{table.name}.{column.name}",
                    f"no {target.table.name} rows to point at; create some first "
                    "(or give the column in a factory)",
                )
            continue
        if default is None and column.server_default is not None and not column.nullable:
            continue  # the server fills it
        try:
            draw = type_draw(column, faker, unique=column.name in unique)
            plans.append(ColumnPlan(column.name, draw))
        except ValueError as exc:
            raise invalid(f"{table.name}.{column.name}", str(exc)) from None
    return plans


async def create_fake_rows(
    db: AsyncSession,
    *,
    model: Any,
    count: int,
    seed: int | None = None,
    factory: Path | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    actor: str = "manage",
) -> FakeRowsResult:
    """Insert `count` fake rows of `model`; rows breaking a unique constraint are skipped.

    One `seed.fake` audit row per run that creates any: {model, requested, created, seed}.
    """
    from app.services import audit
    from app.services.seed_guards import append_only_problem

    table = model.__table__
    if problem := append_only_problem(table.name):
        raise AppException(422, f"{table.name}: {problem}", ErrorCode.INVALID_SEED)
    started = time.perf_counter()
    used_seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    plans = await plan_columns(db, model, seed=used_seed, factory=factory)
    if not plans:
        raise invalid(table.name, "has no column a fake row could fill")

    def batches() -> Iterator[list[tuple[Any, ...]]]:
        """The rows, batch by batch: the same ones on every call (one generator from the seed)."""
        rng = random.Random(used_seed)
        for start in range(0, count, batch_size):
            size = min(batch_size, count - start)
            columns = [_drawn(table, plan, rng, start, size) for plan in plans]
            yield list(zip(*columns, strict=True))

    connection = await db.connection()
    names = [p.name for p in plans]
    if connection.dialect.name == "postgresql":
        created = await _copy_postgresql(db, table, names, batches, progress)
    else:
        created = 0
        async with _insert_writer(db, table, names) as insert_batch:
            for batch in batches():
                created += await insert_batch(batch)
                if progress is not None:
                    progress(len(batch))
                await asyncio.sleep(0)  # let Ctrl-C (task cancellation) in between batches
    if created:
        await audit.record(
            db,
            actor=actor,
            action="seed.fake",
            target=table.name,
            details={
                "model": model.__name__,
                "requested": count,
                "created": created,
                "seed": used_seed,
            },
        )
    return FakeRowsResult(
        model=model.__name__,
        table=table.name,
        requested=count,
        created=created,
        skipped=count - created,
        seed=used_seed,
        seconds=round(time.perf_counter() - started, 3),
    )


def _drawn(table: Any, plan: ColumnPlan, rng: random.Random, start: int, size: int) -> list:
    try:
        return plan.draw(rng, start, size)
    except ValueError as exc:  # e.g. a unique value that no longer fits the column
        raise invalid(f"{table.name}.{plan.name}", str(exc)) from None


async def _copy_postgresql(
    db: AsyncSession,
    table: Any,
    names: list[str],
    batches: Callable[[], Iterator[list[tuple[Any, ...]]]],
    progress: Progress | None,
) -> int:
    """COPY straight into the table (app/services/fake_copy.py), the temporary table and
    INSERT ... ON CONFLICT DO NOTHING once a unique value is already there."""
    connection = await db.connection()
    encoders = [copy_encoder(table.c[n], connection.dialect) for n in names]

    def encoded() -> Iterator[list[tuple[Any, ...]]]:
        for batch in batches():
            if any(encoders):
                batch = [
                    tuple(e(v) if e else v for e, v in zip(encoders, row, strict=True))
                    for row in batch
                ]
            yield batch

    # Through SQLAlchemy first, so the driver connection is inside this session's transaction.
    await connection.exec_driver_sql("SELECT 1")
    raw = (await connection.get_raw_connection()).driver_connection
    fallback = _ConflictSkippingInsert(raw, table.name, names)
    created = await copy_batches(
        raw,
        table=table.name,
        columns=names,
        make_batches=encoded,
        fallback=fallback,
        progress=progress,
    )
    await fallback.close()
    return created


class _ConflictSkippingInsert:
    """PostgreSQL: COPY a batch into a temporary table, then INSERT ... SELECT it, skipping
    rows a unique constraint turns away."""

    def __init__(self, raw: Any, table: str, names: list[str]) -> None:
        self.raw, self.table, self.names, self.made = raw, table, names, False
        self.columns = ", ".join(f'"{n}"' for n in names)

    async def __call__(self, rows: list[tuple[Any, ...]]) -> int:
        if not self.made:
            await self.raw.execute(
                f"CREATE TEMP TABLE {TEMP_TABLE} ON COMMIT DROP AS "
                f'SELECT {self.columns} FROM "{self.table}" WITH NO DATA'
            )
            self.made = True
        await copy_rows(self.raw, TEMP_TABLE, rows, self.names)
        status = await self.raw.execute(
            f'INSERT INTO "{self.table}" ({self.columns}) SELECT {self.columns} '
            f"FROM {TEMP_TABLE} ON CONFLICT DO NOTHING"
        )  # "INSERT 0 <rows>"
        await self.raw.execute(f"TRUNCATE {TEMP_TABLE}")
        return int(status.rsplit(" ", 1)[1])

    async def close(self) -> None:
        if self.made:
            await self.raw.execute(f"DROP TABLE {TEMP_TABLE}")


class _insert_writer:
    """SQLite: one executemany of INSERT ... ON CONFLICT DO NOTHING per batch."""

    def __init__(self, db: AsyncSession, table: Any, names: list[str]) -> None:
        from sqlalchemy.dialects.sqlite import insert

        self.db, self.table, self.names = db, table, names
        self.statement = insert(table).on_conflict_do_nothing()

    async def __aenter__(self) -> Callable[[list[tuple]], Any]:
        return self.insert_batch

    async def _count(self) -> int:
        return int((await self.db.exec(select(func.count()).select_from(self.table))).one()[0])

    async def insert_batch(self, rows: list[tuple]) -> int:
        before = await self._count()
        from sqlalchemy.exc import IntegrityError

        params = [dict(zip(self.names, row, strict=True)) for row in rows]
        try:
            await self.db.exec(self.statement, params=params)
        except IntegrityError as exc:  # only a factory's values can break a key or check
            # sqlite3 names the constraint kind (and column), never the row's values.
            raise AppException(
                422,
                f"{self.table.name}: a fake row breaks a constraint ({exc.orig})",
                ErrorCode.INVALID_SEED,
            ) from None
        return await self._count() - before

    async def __aexit__(self, *exc: object) -> None:
        return None
