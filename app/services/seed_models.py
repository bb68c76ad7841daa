"""Upsert the rows of a `models:` section by its key, in the caller's transaction.

Rows may give different columns. A column a row leaves out is left alone when the row
exists, and takes the model's default when it is created (the pydantic default or factory,
else the column's server default, else NULL when nullable; a required field with none of
these is a 422 naming the row). New rows are inserted in bulk, one executemany per set of
columns (the per-row work and the bulk insert stay separate for a COPY path later).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import and_, insert, or_, select, text, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.services.seed_references import lookup_key, prefetch_references
from app.services.seed_rows import ModelSection, Row, invalid
from app.services.seed_upsert import Tally, _chunks
from app.services.seed_values import (
    column_value,
    copy_processor,
    json_null_columns,
    same,
    sql_nulls,
)


@dataclass(frozen=True)
class _SelfReference:
    """A foreign key into the section's own table, resolved when its row comes up (after
    the rows before it are inserted: a child may name a parent created just above it)."""

    column: str
    value: dict[str, Any]


async def _look_up(
    db: AsyncSession, row: Row, column: str, fk_column: Any, value: dict[str, Any]
) -> Any:
    """The referenced key of the one row of fk_column's table matching `value` (422 if not 1)."""
    from app.services.seed_rows import table_models

    ref = fk_column.table
    unknown = [k for k in value if k not in ref.c]
    if unknown:
        raise invalid(row.where(column), f"{ref.name} has no column {unknown[0]}")
    ref_model = table_models().get(ref.name)
    wanted = {}
    for k, v in value.items():
        try:
            wanted[k] = column_value(ref_model, k, v) if ref_model is not None else v
        except ValueError as exc:
            raise invalid(row.where(column) + f".{k}", str(exc)) from None
    query = select(fk_column).where(and_(*(ref.c[k] == v for k, v in wanted.items())))
    found = (await db.exec(query)).scalars().all()
    if len(found) != 1:
        what = ", ".join(f"{k}={v!r}" for k, v in value.items())
        problem = "no" if not found else "more than one"
        raise invalid(row.where(column), f"{problem} {ref.name} row with {what}")
    return found[0]


async def _resolve_references(db: AsyncSession, section: ModelSection) -> list[dict[str, Any]]:
    """Each row's given values as the columns store them, `{email: ...}` foreign keys
    replaced by the referenced key (references into the same table: a _SelfReference)."""
    model = section.model
    table = model.__table__
    cache = await prefetch_references(db, section)
    resolved = []
    for row in section.rows:
        values: dict[str, Any] = {}
        for column, value in row.data.items():
            if not isinstance(value, dict) or not table.c[column].foreign_keys:
                try:
                    values[column] = column_value(model, column, value)
                except ValueError as exc:
                    raise invalid(row.where(column), str(exc)) from None
                continue
            target = next(iter(table.c[column].foreign_keys)).column
            if target.table is table:
                values[column] = _SelfReference(column, value)
                continue
            lookup = lookup_key(column, value)
            if lookup not in cache:
                cache[lookup] = await _look_up(db, row, column, target, value)
            values[column] = cache[lookup]
        resolved.append(values)
    return resolved


def _defaults(model: Any) -> dict[str, Any]:
    """column -> a callable giving the value a new row takes when the file leaves it out,
    or None when the database fills it (server default, autoincrement, NULL)."""
    table = model.__table__
    found: dict[str, Any] = {}
    for column in table.columns:
        field = model.model_fields.get(column.name)
        if column is table.autoincrement_column:
            found[column.name] = None  # the database numbers it
        elif field is not None and field.default_factory is not None:
            found[column.name] = field.default_factory
        elif (
            field is not None
            and field.default is not PydanticUndefined
            and (field.default is not None or column.server_default is None)
        ):
            found[column.name] = lambda value=field.default: value
        elif column.server_default is not None or column.default is not None or column.nullable:
            found[column.name] = None
    return found


def _new_row(
    section: ModelSection, row: Row, values: dict[str, Any], defaults: dict[str, Any]
) -> dict[str, Any]:
    new = dict(values)
    for column, default in defaults.items():
        if column not in new and default is not None:
            new[column] = default()
    required = [
        c.name
        for c in section.model.__table__.columns
        if c.name not in new and c.name not in defaults
    ]
    if required:
        raise invalid(
            row.where(),
            f"a new {section.model.__tablename__} row needs {', '.join(required)} "
            "(no default for it)",
        )
    return new


def _key_text(section: ModelSection, values: dict[str, Any]) -> str:
    return ",".join(f"{k}={values[k]}" for k in section.key)


async def _existing(db: AsyncSession, section: ModelSection, keys: list[tuple]) -> dict:
    table = section.model.__table__
    existing: dict[tuple, Any] = {}
    for chunk in _chunks(list(dict.fromkeys(keys))):
        if len(section.key) == 1:
            condition = table.c[section.key[0]].in_([k[0] for k in chunk])
        else:
            condition = or_(
                *(
                    and_(*(table.c[c] == v for c, v in zip(section.key, k, strict=True)))
                    for k in chunk
                )
            )
        for found in (await db.exec(select(table).where(condition))).mappings().all():
            existing[tuple(found[c] for c in section.key)] = dict(found)
    return existing


COPY_AT_LEAST = 200  # fewer new rows than this: an executemany costs less than a COPY


async def insert_rows(db: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    """The bulk path, per set of columns: PostgreSQL binary COPY straight into the table
    (the rows are known to be new: the run holds the seed lock), else chunked executemany."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    connection = await db.connection()
    json_nulls = json_null_columns(table, connection.dialect)
    for names, group in groups.items():
        if connection.dialect.name == "postgresql" and len(group) >= COPY_AT_LEAST:
            await _copy_rows(connection, table, names, group)  # None is SQL NULL in COPY
            continue
        for chunk in _chunks(group):
            await db.exec(insert(table), params=[sql_nulls(r, json_nulls) for r in chunk])
    await _advance_sequence(db, table, rows)


async def _copy_rows(
    connection: Any, table: Any, names: tuple[str, ...], rows: list[dict[str, Any]]
) -> None:
    """COPY `rows` into `table`; each value goes through the bind processor of its column's
    type for this dialect (enum members to their stored names, JSON to text, a Decimal
    untouched: seed_values.copy_processor), i.e. exactly what SQLAlchemy sends in an INSERT."""
    processors = [copy_processor(table.c[n], connection.dialect) for n in names]
    raw = (await connection.get_raw_connection()).driver_connection
    for chunk in _chunks(rows, 10_000):
        records = [
            tuple(
                p(row[n]) if p is not None and row[n] is not None else row[n]
                for n, p in zip(names, processors, strict=True)
            )
            for row in chunk
        ]
        await raw.copy_records_to_table(table.name, records=records, columns=list(names))


async def seed_model(
    db: AsyncSession, section: ModelSection, tally: Tally, on_change: Any = None
) -> None:
    """Upsert the section's rows. `on_change(op, key_values, fields)` is told of each row
    created or updated (users are audited through it)."""
    table = section.model.__table__
    name = section.model.__name__
    rows = await _resolve_references(db, section)
    keys = [tuple(values[k] for k in section.key) for values in rows]
    existing = await _existing(db, section, keys)
    defaults = _defaults(section.model)
    new_rows: dict[tuple, dict[str, Any]] = {}
    # changed columns -> (key, values): one executemany per shape, after the loop
    updates: dict[tuple[str, ...], list[tuple[tuple, dict[str, Any]]]] = {}
    for row, values, key in zip(section.rows, rows, keys, strict=True):
        deferred = [v for v in values.values() if isinstance(v, _SelfReference)]
        if deferred:
            # Rows above may be the parents it names: write them first.
            await _update_rows(db, section, updates)
            updates.clear()
            await insert_rows(db, table, list(new_rows.values()))
            existing.update(new_rows)
            new_rows.clear()
            for ref in deferred:
                target = next(iter(table.c[ref.column].foreign_keys)).column
                values[ref.column] = await _look_up(db, row, ref.column, target, ref.value)
        pending = new_rows.get(key)
        if pending is not None:  # the same key again in this run: it updates the new row
            pending.update(values)
            continue
        current = existing.get(key)
        if current is None:
            new_rows[key] = _new_row(section, row, values, defaults)
            tally.created(name, _key_text(section, values))
            if on_change is not None:
                await on_change("create", values, sorted(values))
            continue
        changed = {
            c: v
            for c, v in values.items()
            if c not in section.key and not same(table.c[c], current[c], v)
        }
        if changed:
            changed = await _stored_differs(db, section, key, changed)
        if changed:
            updates.setdefault(tuple(sorted(changed)), []).append((key, changed))
            current.update(changed)
            tally.updated(name, _key_text(section, values), changed)
            if on_change is not None:
                await on_change("update", values, sorted(changed))
        else:
            tally.unchanged(name)
    await _update_rows(db, section, updates)
    await insert_rows(db, table, list(new_rows.values()))
    finish = getattr(on_change, "finish", None)
    if finish is not None:
        await finish()  # an auditor writes its rows in bulk


async def _stored_differs(
    db: AsyncSession, section: ModelSection, key: tuple, changed: dict[str, Any]
) -> dict[str, Any]:
    """The columns of `changed` (differing in Python) whose stored value differs from the
    given one as the database stores it: `IS DISTINCT FROM` the value bound by the column's
    type, as the bulk path compares its staged rows. Python alone saw the REAL 0.1 read
    back as 0.10000000149011612, or a TypeDecorator's lower-cased value, as a change on
    every run. JSON columns are compared as values (seed_values.json_same) on both paths."""
    table = section.model.__table__
    dialect = (await db.connection()).dialect
    asked = [c for c in changed if not _is_json(table.c[c], dialect)]
    if not asked:
        return changed
    query = select(
        *(
            table.c[c].is_distinct_from(_as_stored(table.c[c], changed[c], dialect)).label(c)
            for c in asked
        )
    ).where(and_(*(table.c[k] == v for k, v in zip(section.key, key, strict=True))))
    found = (await db.exec(query)).mappings().first()
    if found is None:
        return changed
    return {c: v for c, v in changed.items() if c not in found or found[c]}


def _as_stored(column: Any, value: Any, dialect: Any) -> Any:
    """`value` bound by the column's type and, on PostgreSQL, cast to it: asyncpg binds a
    REAL as float8, and `real_column IS DISTINCT FROM 0.1::float8` is true. Not on SQLite,
    where CAST(text AS DATETIME) would make a number of a timestamp; a value compared with
    a column takes the column's affinity there."""
    from sqlalchemy import cast, literal

    bound = literal(value, type_=column.type)
    return cast(bound, column.type) if dialect.name == "postgresql" else bound


def _is_json(column: Any, dialect: Any) -> bool:
    from sqlalchemy import JSON

    return isinstance(column.type.dialect_impl(dialect), JSON)


async def _update_rows(
    db: AsyncSession, section: ModelSection, updates: dict[tuple[str, ...], list]
) -> None:
    """The changed rows, one executemany per set of changed columns (not one UPDATE a row)."""
    from sqlalchemy import bindparam

    table = section.model.__table__
    connection = await db.connection()
    json_nulls = [f"v_{c}" for c in json_null_columns(table, connection.dialect)]
    for columns, entries in updates.items():
        condition = and_(*(table.c[c] == bindparam(f"k_{c}") for c in section.key))
        statement = update(table).where(condition).values({c: bindparam(f"v_{c}") for c in columns})
        params = [
            sql_nulls(
                {
                    **{f"k_{c}": v for c, v in zip(section.key, key, strict=True)},
                    **{f"v_{c}": changed[c] for c in columns},
                },
                json_nulls,
            )
            for key, changed in entries
        ]
        for chunk in _chunks(params):
            await db.exec(statement, params=list(chunk))


async def _advance_sequence(db: AsyncSession, table: Any, new_rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: rows inserted with explicit serial ids leave the sequence behind; catch up."""
    connection = await db.connection()
    serial = table.autoincrement_column
    if connection.dialect.name != "postgresql" or serial is None:
        return
    if not any(row.get(serial.name) is not None for row in new_rows):
        return
    await db.exec(
        text(
            "SELECT setval(pg_get_serial_sequence(:table, :column), "
            f'(SELECT max("{serial.name}") FROM "{table.name}"))'
        ),
        params={"table": table.name, "column": serial.name},
    )
