"""The staging table of a large seed section, and the chunks of converted rows that fill it
(app/services/seed_bulk.py stages them; seed_direct.py COPYs the same chunks into the table).

A chunk is STAGE_CHUNK rows: a plain CSV file's records converted by a compiled converter in
a worker thread while the database takes the previous chunk (seed_convert.record_chunks),
any other section's rows one by one (seed_convert.row_chunks). With `extra`, each row also
carries EXTRA: its line, its index, the mask of the columns it gives, the columns it lacks.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text, insert, text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.services.seed_rows import ModelSection, Row

STAGE_CHUNK = 5000  # rows converted and written to the stage at a time
EXTRA = ("seed_line_", "seed_index_", "seed_given_", "seed_lacks_")


async def stage_table(db: AsyncSession, table: Table, number: int) -> Table:
    """An empty temporary table with the target's columns (their types, no constraints)
    and the bookkeeping columns EXTRA."""
    connection = await db.connection()
    name = f"seed_stage_{number}"
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(c.name) for c in table.columns)
    if connection.dialect.name == "postgresql":
        await db.exec(
            text(
                f"CREATE TEMP TABLE {name} ON COMMIT DROP AS "
                f"SELECT {names} FROM {quote(table.name)} WITH NO DATA"
            )
        )
        await db.exec(
            text(
                f"ALTER TABLE {name} ADD COLUMN seed_line_ integer, ADD COLUMN seed_index_ "
                "integer, ADD COLUMN seed_given_ bigint, ADD COLUMN seed_lacks_ text, "
                "ADD COLUMN seed_op_ text"
            )
        )
    else:
        await db.exec(
            text(
                f"CREATE TEMP TABLE {name} AS SELECT {names} FROM main.{quote(table.name)} WHERE 0"
            )
        )
        kinds = ("integer", "integer", "bigint", "text", "text")
        for extra, kind in zip((*EXTRA, "seed_op_"), kinds, strict=True):
            await db.exec(text(f"ALTER TABLE temp.{name} ADD COLUMN {extra} {kind}"))
    return Table(
        name,
        MetaData(),
        *(Column(c.name, c.type) for c in table.columns),
        Column("seed_line_", Integer),
        Column("seed_index_", Integer),
        Column("seed_given_", BigInteger),
        Column("seed_lacks_", Text),
        Column("seed_op_", Text),  # "c": a new key, "u": exists and differs
    )


async def write_stage(
    db: AsyncSession, stage: Table, names: list[str], records: list[tuple]
) -> None:
    """Rows (tuples in the order of `names`) into the staging table: PostgreSQL binary COPY
    (the values already through their column types' bind processors: SectionPlan), SQLite
    one executemany."""
    connection = await db.connection()
    if connection.dialect.name != "postgresql":
        from app.services.seed_values import json_null_columns, sql_nulls

        nulls = json_null_columns(stage, connection.dialect)
        await db.exec(
            insert(stage),
            params=[sql_nulls(dict(zip(names, r, strict=True)), nulls) for r in records],
        )
        return
    raw = (await connection.get_raw_connection()).driver_connection
    await raw.copy_records_to_table(stage.name, records=records, columns=names)


class Source:
    """Where the section's rows come from, for messages: noted from its first row."""

    def __init__(self) -> None:
        self.source, self.columned = "", False

    def noting(self, rows: Iterable[Row]) -> Iterator[Row]:
        for row in rows:
            if not self.source:
                self.source, self.columned = row.source, row.field_columns is not None
            yield row


@contextlib.asynccontextmanager
async def section_chunks(
    db: AsyncSession,
    section: ModelSection,
    rows: Iterable[Row],
    plan: Any,
    source: Source,
    *,
    extra: bool,
) -> AsyncIterator[AsyncIterator[Any]]:
    """The section's staged records, chunk by chunk: a plain CSV converted from its records
    in a worker thread (the next chunk while the database takes this one), any other
    section row by row (seed_convert.row_chunks)."""
    from app.services.seed_convert import ChunksAhead, record_chunks, row_chunks

    fast = record_chunks(plan, section.table_file, STAGE_CHUNK, extra=extra)
    if fast is None:
        generator: Any = row_chunks(db, plan, source.noting(rows), STAGE_CHUNK)
    else:
        close_rows(rows)
        source.source, source.columned = section.table_file.source, True
        generator = ChunksAhead(fast)
    async with contextlib.aclosing(generator) as chunks:
        yield chunks


def close_rows(rows: Any) -> None:
    close = getattr(rows, "close", None)
    if close is not None:
        close()
