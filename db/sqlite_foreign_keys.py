"""SQLite migrations run with foreign-key enforcement off, and are checked before they commit.

Alembic's batch mode rebuilds a SQLite table: create a copy, copy the rows, DROP the original,
rename the copy. With enforcement on (db/engine.py turns it on for every connection) that DROP
deletes the rows first and fires each child's ON DELETE action: CASCADE children lose their rows,
SET NULL children lose their references, children without an action make the revision fail.
SQLite's documented procedure for schema changes (https://sqlite.org/lang_altertable.html,
"Making Other Kinds Of Table Schema Changes") is: foreign_keys=OFF, BEGIN, change, run
`PRAGMA foreign_key_check`, COMMIT, foreign_keys=ON. `PRAGMA foreign_keys` is a no-op inside a
transaction, so it goes through the driver's cursor: SQLAlchemy's execute would autobegin one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection

from db.errors import ForeignKeyViolation

# Rows (by key values) named per table in the error line; more are counted, not listed.
SHOWN_ROWS = 5


def set_enforcement(connection: Connection, *, on: bool) -> None:
    """Switch `PRAGMA foreign_keys` on the connection; call it outside any transaction."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


class Orphan(NamedTuple):
    """A child row whose foreign key points nowhere, named by its key values (never by rowid:
    a table rebuild renumbers rowids, and a WITHOUT ROWID table has none)."""

    table: str  # the child table
    columns: tuple[str, ...]  # the child's foreign-key columns
    values: tuple[Any, ...]  # their values in that row
    parent: str  # the table they should point into


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _parent_columns(connection: Connection, parent: str) -> list[str] | None:
    """The parent's primary-key columns (what a foreign key without column names references);
    None when the parent table does not exist."""
    rows = connection.exec_driver_sql(f"PRAGMA table_info({_quote(connection, parent)})")
    info = [(row[5], row[1]) for row in rows]  # (pk position, name)
    if not info:
        return None
    return [name for position, name in sorted(info) if position > 0]


def _orphans_of(connection: Connection, table: str, fk_id: int) -> list[Orphan]:
    rows = connection.exec_driver_sql(f"PRAGMA foreign_key_list({_quote(connection, table)})")
    parts = sorted((row[1], row[2], row[3], row[4]) for row in rows if row[0] == fk_id)
    if not parts:
        return []
    parent = parts[0][1]
    columns = [part[2] for part in parts]
    targets = [part[3] for part in parts]
    if any(target is None for target in targets):
        targets = _parent_columns(connection, parent) or []
    child = ", ".join(f"c.{_quote(connection, column)}" for column in columns)
    present = " AND ".join(f"c.{_quote(connection, column)} IS NOT NULL" for column in columns)
    sql = f"SELECT {child} FROM {_quote(connection, table)} AS c WHERE {present}"
    if _parent_columns(connection, parent) is not None and len(targets) == len(columns):
        match = " AND ".join(
            f"p.{_quote(connection, target)} = c.{_quote(connection, column)}"
            for column, target in zip(columns, targets, strict=True)
        )
        sql += f" AND NOT EXISTS (SELECT 1 FROM {_quote(connection, parent)} AS p WHERE {match})"
    return [
        Orphan(table, tuple(columns), tuple(row), parent)
        for row in connection.exec_driver_sql(sql).fetchall()
    ]


def violations(connection: Connection) -> list[Orphan]:
    """Every row whose foreign key points nowhere, by key values. `PRAGMA foreign_key_check`
    says which (table, foreign key) pairs have any; each pair's rows are then read by value."""
    rows = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    pairs = sorted({(row[0], row[3]) for row in rows})
    return [orphan for table, fk_id in pairs for orphan in _orphans_of(connection, table, fk_id)]


def _key(orphan: Orphan) -> str:
    pairs = ", ".join(
        f"{column}={value!r}" for column, value in zip(orphan.columns, orphan.values, strict=True)
    )
    return f"({pairs})"


def describe(found: list[Orphan]) -> str:
    """'user_roles rows (user_id=999) reference missing users; ...': tables and key values."""
    by_table: dict[tuple[str, str], list[Orphan]] = defaultdict(list)
    for orphan in found:
        by_table[(orphan.table, orphan.parent)].append(orphan)
    parts = []
    for (table, parent), orphans in sorted(by_table.items()):
        shown = ", ".join(_key(orphan) for orphan in orphans[:SHOWN_ROWS])
        more = f" and {len(orphans) - SHOWN_ROWS} more" if len(orphans) > SHOWN_ROWS else ""
        noun = "row" if len(orphans) == 1 else "rows"
        parts.append(f"{table} {noun} {shown}{more} reference missing {parent}")
    return "; ".join(parts)


def new_orphans(connection: Connection, before: Iterable[Orphan]) -> list[Orphan]:
    """Orphans now minus those `before`, counted per key (a multiset)."""
    return list((Counter(violations(connection)) - Counter(before)).elements())


def check(connection: Connection, *, at: str = "", before: Iterable[Orphan] = ()) -> None:
    """Raise ForeignKeyViolation naming each table and row (by key values) that points nowhere,
    except those already found `before` the migration (orphans someone wrote with enforcement
    off are not this migration's doing, and must not block every migration from now on).

    Counted per key (a multiset): a new orphan with the same key as an old one is still new.
    """
    found = new_orphans(connection, before)
    if found:
        where = f"; the database is still at {at}" if at else ""
        raise ForeignKeyViolation(
            f"the migration left foreign keys pointing nowhere: {describe(found)}; "
            f"rolled back, nothing committed{where}. Foreign keys are not enforced while a "
            "SQLite migration runs, so ON DELETE CASCADE / SET NULL do not fire: delete (or "
            "update) the child rows explicitly in the revision before deleting their parents"
        )


@contextmanager
def enforcement_off(connection: Connection) -> Iterator[None]:
    """Enforcement off for the body (which opens and closes its own transaction), on after."""
    set_enforcement(connection, on=False)
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        set_enforcement(connection, on=True)


def run_checked(connection: Connection, body: Callable[[Connection], None]) -> None:
    """SQLite's procedure around `body`: enforcement off, one transaction, the check, commit,
    enforcement on. For env.py's own connections (plain `alembic`); `manage` does the same
    through the migration lock (db/migration_lock.py) and db/migration_run.py."""
    from db import sqlite_rebuilds

    with enforcement_off(connection), connection.begin():
        before = violations(connection)
        with sqlite_rebuilds.watching(connection) as watch:
            body(connection)
        watch.restore(connection)
        check(connection, before=before)
