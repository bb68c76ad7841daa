"""The bulk path's records, chunk by chunk: what every row of a large section becomes before
it is written (into the staging table, or straight into the table: seed_direct).

`SectionPlan` is worked out once per section; `row_chunks` converts Rows of any format
(seed_rows.converted_row per row, foreign keys by natural key resolved per chunk), and
`record_chunks` converts a plain CSV file's records without building Rows
(app/services/seed_records.py). Both give `Chunk`s of the same tuples.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any

from app.services.seed_rows import Row


class SectionPlan:
    """What every chunk of one bulk section needs, worked out once: the table's columns and
    their bits (which columns a row gives is a mask), the Python-side defaults (a timestamp
    taken once per section, as the users path takes one `now`; other factories such as a
    security stamp or a UUID per row), the columns a new row must give, and the bind
    processors a PostgreSQL COPY needs (SQLite's executemany processes values itself)."""

    def __init__(self, model: Any, key: list[str], dialect: Any) -> None:
        from app.models._columns import utcnow
        from app.services.seed_models import _defaults
        from app.services.seed_values import copy_processor

        self.model, self.key = model, key
        self.table = table = model.__table__
        self.columns = [c.name for c in table.columns]
        self.bits = {name: 1 << i for i, name in enumerate(self.columns)}
        found = _defaults(model)
        self.defaults = {c: d for c, d in found.items() if d is not None}
        self.shared = {
            c: d() for c, d in self.defaults.items() if getattr(d, "__wrapped__", d) is utcnow
        }
        self.per_row = {c: d for c, d in self.defaults.items() if c not in self.shared}
        self.required = [c for c in self.columns if c not in found]
        self.references = any(table.c[c].foreign_keys for c in self.columns)
        self.processors: dict[str, Callable[[Any], Any]] = {}
        if dialect.name == "postgresql":
            for column in table.columns:
                process = copy_processor(column, dialect)
                if process is not None:
                    self.processors[column.name] = process

    def mask(self, given: Iterable[str]) -> int:
        found = 0
        for column in given:
            found |= self.bits[column]
        return found

    def lacking(self, given: Iterable[str]) -> str | None:
        present = set(given)
        return next((c for c in self.required if c not in present), None)

    def processed(self, columns: list[str], records: list[tuple]) -> list[tuple]:
        """`records` (values in the order of `columns`, then bookkeeping values) with each
        value through its column type's bind processor: what an INSERT would send."""
        processors = [
            (i, p) for i, c in enumerate(columns) if (p := self.processors.get(c)) is not None
        ]
        if not processors:
            return records
        out = []
        for record in records:
            values = list(record)
            for i, process in processors:
                if values[i] is not None:
                    values[i] = process(values[i])
            out.append(tuple(values))
        return out


class Chunk:
    """Staged records of consecutive rows: per record the values of `columns`, then (when
    `constant` is None) seed_stage.EXTRA's bookkeeping values: line, index, the mask of the
    columns the row gives, the column it lacks. A plain CSV's rows all give the same
    columns: then `constant` is (mask, lacking) and the records may stop at the values."""

    def __init__(
        self, columns: list[str], records: list[tuple], constant: tuple[int, Any] | None = None
    ) -> None:
        self.columns, self.records, self.constant = columns, records, constant

    def uniform(self) -> tuple[int | None, Any]:
        """(mask, lacking column) shared by every record, or (None, None) if they differ."""
        if self.constant is not None:
            return self.constant
        n = len(self.columns)
        first = self.records[0]
        given, lacks = first[n + 2], first[n + 3]
        if all(r[n + 2] == given and r[n + 3] == lacks for r in self.records):
            return given, lacks
        return None, None

    def values(self) -> list[tuple]:
        """The records without bookkeeping values."""
        n = len(self.columns)
        if self.records and len(self.records[0]) == n:
            return self.records
        return [r[:n] for r in self.records]


async def row_chunks(db: Any, plan: SectionPlan, rows: Iterable[Row], size: int) -> Any:
    """Chunks of staged records from Rows (any format): each row checked and converted
    (converted_row), its foreign keys by natural key resolved per chunk, defaults filled,
    values processed for a COPY. An async iterator of Chunk."""
    from app.services.seed_models import _look_up
    from app.services.seed_references import lookup_key, prefetch_references
    from app.services.seed_rows import ModelSection, converted_row

    model, key, table = plan.model, plan.key, plan.table
    names = set(plan.columns)
    cache: dict[tuple, Any] = {}
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        if plan.references and any(isinstance(v, dict) for row in chunk for v in row.data.values()):
            cache.update(await prefetch_references(db, ModelSection(model, key, chunk)))
        present = set(plan.defaults)
        converted = []
        for row in chunk:
            values = converted_row(row, model, key, names)
            if plan.references:
                for column, value in values.items():
                    if isinstance(value, dict) and table.c[column].foreign_keys:
                        lookup = lookup_key(column, value)
                        if lookup not in cache:
                            target = next(iter(table.c[column].foreign_keys)).column
                            cache[lookup] = await _look_up(db, row, column, target, value)
                        values[column] = cache[lookup]
            given = plan.mask(values)
            present.update(values)
            lacks = plan.lacking(values)
            for column, value in plan.shared.items():
                values.setdefault(column, value)
            for column, default in plan.per_row.items():
                if column not in values:
                    values[column] = default()
            converted.append((values, row.line, row.index, given, lacks))
        columns = [c for c in plan.columns if c in present]
        records = [
            (*(values.get(c) for c in columns), line, index, given, lacks)
            for values, line, index, given, lacks in converted
        ]
        yield Chunk(columns, plan.processed(columns, records))


def record_chunks(
    plan: SectionPlan, table_file: Any, size: int, *, extra: bool
) -> Iterator[Chunk] | None:
    """Chunks of staged records of a plain CSV file straight from its records, with the
    bookkeeping values when `extra`; None when the file is not a plain CSV (JSON Lines,
    JSON cells, foreign keys by natural key). A plain iterator: seed_bulk runs it in a
    worker thread, converting the next chunk while the database takes this one."""
    from app.services.seed_records import RecordConverter, converted_records, slow_values
    from app.services.seed_tables import csv_row

    if table_file is None or table_file.jsonl:
        return None
    records = table_file.records()
    header = next(records)
    if header is None or not header.plain:
        records.close()
        return None
    names = header.names
    converter = RecordConverter(
        plan.model,
        plan.key,
        names,
        columns=plan.columns,
        shared=plan.shared,
        per_row=plan.per_row,
        processors=plan.processors,
    )
    source, path = table_file.source, table_file.path

    def make_row(line: int, index: int, record: list[str]) -> Row:
        return csv_row(source, path, header, line, index, record)

    slow = slow_values(plan.model, plan.key, make_row, names, plan.processors)
    given, lacks = plan.mask(names), plan.lacking(names)

    def chunks() -> Iterator[Chunk]:
        with contextlib.closing(records):
            for chunk in converted_records(records, converter, slow, size):
                if extra:
                    found = [(*values, line, index, given, lacks) for line, index, values in chunk]
                else:
                    found = [values for _, _, values in chunk]
                yield Chunk(converter.columns, found, (given, lacks))

    return chunks()


class ChunksAhead:
    """Chunks of a plain iterator (record_chunks) made in a worker thread of its own.
    `ahead()` starts making the next one; the caller says when: while the database works on
    this one, not while this thread encodes a COPY (the two would share the GIL). Iterating
    waits for it."""

    def __init__(self, chunks: Iterator[Chunk]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._chunks = chunks
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-convert")
        self._pending: Future[Chunk | None] | None = None

    def ahead(self) -> None:
        if self._pending is None:
            self._pending = self._executor.submit(next, self._chunks, None)

    def __aiter__(self) -> ChunksAhead:
        return self

    async def __anext__(self) -> Chunk:
        self.ahead()
        assert self._pending is not None
        chunk = await asyncio.wrap_future(self._pending)
        self._pending = None
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        """Wait for the chunk being made, if any (a thread cannot be stopped: a run that
        ends, by an error or a signal, lets it finish), then close the file."""
        pending, self._pending = self._pending, None
        self._executor.shutdown(wait=True)
        if pending is not None and not pending.cancelled():
            pending.exception()  # made after the run gave up: nobody is told
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


def convert_ahead(chunks: Any) -> None:
    """Start converting the next chunk (ChunksAhead) while the database takes this one; a
    section converted row by row (row_chunks) has nothing to start."""
    ahead = getattr(chunks, "ahead", None)
    if ahead is not None:
        ahead()
