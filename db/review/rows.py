"""Rows on the scratch database, so a revision that loses rows is seen.

On SQLite, Alembic's batch mode rebuilds a table (create a copy, copy the rows, DROP, rename);
with foreign keys on, the DROP fires the children's ON DELETE CASCADE / SET NULL and their rows
are gone or orphaned, silently. An empty scratch database cannot show that. So before each
revision the roundtrip puts one row in every table that has a foreign key and in the tables
they point at (parents first), and counts the rows of every table before and after.

Values are made up from the reflected column types; a table whose row cannot be inserted (a
CHECK constraint, an exotic type) is skipped: it has no row to lose.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from db.review.roundtrip_schema import BOOKKEEPING


def _value(column: dict[str, Any]) -> Any:
    from sqlalchemy import types

    kind = column["type"]
    enums = getattr(kind, "enums", None)
    if enums:
        return enums[0]
    checks: list[tuple[type, Any]] = [
        (types.Boolean, False),
        (types.Integer, 1),
        (types.Numeric, 1),
        (types.Float, 1.0),
        (types.DateTime, dt.datetime(2020, 1, 1)),
        (types.Date, dt.date(2020, 1, 1)),
        (types.Time, dt.time(0, 0)),
        (types.Uuid, uuid.UUID(int=1)),
        (types.JSON, {}),
        (types.LargeBinary, b"x"),
        (types.Interval, dt.timedelta(0)),
    ]
    for base, value in checks:
        if isinstance(kind, base):
            return value
    length = getattr(kind, "length", None)
    return "x" if not length or length >= 1 else ""


def _order(inspector: Any, tables: list[str]) -> list[str]:
    """`tables` with the tables their foreign keys point at, parents first."""
    wanted: list[str] = []

    def add(table: str, trail: tuple[str, ...]) -> None:
        if table in wanted or table in trail or table not in tables:
            return
        for fk in inspector.get_foreign_keys(table):
            add(fk["referred_table"], (*trail, table))
        wanted.append(table)

    for table in tables:
        if inspector.get_foreign_keys(table):
            add(table, ())
    return wanted


def fill(connection: Any) -> list[str]:
    """Insert one row per table with a foreign key (and its parents); the tables skipped."""
    from sqlalchemy import MetaData, Table, inspect, select

    inspector = inspect(connection)
    names = [t for t in inspector.get_table_names() if t not in BOOKKEEPING]
    metadata = MetaData()
    skipped: list[str] = []
    for name in _order(inspector, names):
        if _count(connection, name):
            continue  # it has rows already
        table = Table(name, metadata, autoload_with=connection)
        row: dict[str, Any] = {}
        for column in inspector.get_columns(name):
            if column.get("autoincrement") is True or column.get("default") is not None:
                continue
            if column["nullable"] and not any(
                column["name"] in fk["constrained_columns"]
                for fk in inspector.get_foreign_keys(name)
            ):
                continue
            row[column["name"]] = _value(column)
        for fk in inspector.get_foreign_keys(name):
            parent = Table(fk["referred_table"], metadata, autoload_with=connection)
            referred = [parent.c[c] for c in fk["referred_columns"]]
            found = connection.execute(select(*referred).limit(1)).first()
            for local, value in zip(fk["constrained_columns"], found or [], strict=False):
                row[local] = value
        savepoint = connection.begin_nested()
        try:
            connection.execute(table.insert().values(**row))
            savepoint.commit()
        except Exception:
            savepoint.rollback()
            skipped.append(name)
    return skipped


def _count(connection: Any, name: str) -> int:
    from sqlalchemy import text

    quoted = connection.dialect.identifier_preparer.quote(name)
    return int(connection.execute(text(f"SELECT count(*) FROM {quoted}")).scalar())


def counts(connection: Any) -> dict[str, int]:
    """Rows per table (bookkeeping excluded); no reflection, one COUNT per table."""
    from sqlalchemy import inspect

    names = inspect(connection).get_table_names()
    return {name: _count(connection, name) for name in names if name not in BOOKKEEPING}


def lost(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """`accounts_notes: 1 row -> 0` for each table (in both) that has fewer rows."""
    return [
        f"{table}: {before[table]} row(s) -> {after[table]}"
        for table in sorted(before)
        if table in after and after[table] < before[table]
    ]
