"""SQLite table rebuilds keep the table's triggers and expression indexes.

Alembic's batch mode rebuilds a SQLite table from what SQLAlchemy reflects, and reflection knows
neither triggers nor indexes on expressions (SQLAlchemy skips those with a warning): the DROP of
the original table takes them along and nothing re-creates them. So around every SQLite
migration run: `sqlite_master`'s triggers and indexes that have SQL (not the automatic ones) are
recorded per table before; the statements the run sends are watched for an explicit
`DROP INDEX` / `DROP TRIGGER` (an intended drop); after the run, before commit, each object that
vanished without an explicit drop while its table still exists is re-created from its own SQL.
An object whose SQL no longer applies (the rebuild removed a column it uses) cannot be
re-created: the run rolls back (RevisionFailed, exit 8) naming each one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from db.errors import RevisionFailed

_OBJECTS_SQL = (
    "SELECT type, name, tbl_name, sql FROM sqlite_master "
    "WHERE type IN ('index', 'trigger') AND sql IS NOT NULL"
)
_NAME = r'"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[\w$]+'
_DROP = re.compile(
    rf"\bDROP\s+(INDEX|TRIGGER)\s+(?:IF\s+EXISTS\s+)?(?:(?:{_NAME})\s*\.\s*)?({_NAME})",
    re.IGNORECASE,
)


class SchemaObject(NamedTuple):
    kind: str  # "index" or "trigger"
    name: str
    table: str
    sql: str


def _unquote(name: str) -> str:
    if name[:1] in '"`[':
        name = name[1:-1].replace('""', '"')
    return name.lower()


def objects(connection: Connection) -> dict[str, SchemaObject]:
    """Triggers and indexes with SQL (explicitly created ones), by lower-cased name."""
    rows = connection.exec_driver_sql(_OBJECTS_SQL).fetchall()
    return {row[1].lower(): SchemaObject(*row) for row in rows}


def _tables(connection: Connection) -> set[str]:
    rows = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row[0].lower() for row in rows}


class Watch:
    """What existed before the run, and what the run dropped on purpose."""

    def __init__(self, connection: Connection) -> None:
        self.before = objects(connection)
        self.dropped: set[str] = set()

    def seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        for match in _DROP.finditer(statement):
            self.dropped.add(_unquote(match.group(2)))

    def restore(self, connection: Connection, *, at: str = "") -> list[SchemaObject]:
        """Re-create what a rebuild lost; returns them. Raises RevisionFailed when one's SQL
        no longer applies."""
        now, tables = objects(connection), _tables(connection)
        lost = [
            item
            for name, item in self.before.items()
            if name not in now and name not in self.dropped and item.table.lower() in tables
        ]
        failed = []
        for item in lost:
            try:
                connection.exec_driver_sql(item.sql)
            except DBAPIError as exc:
                reason = str(exc.orig).strip().splitlines()
                failed.append(f"{item.kind} {item.name} ({reason[0] if reason else 'error'})")
        if failed:
            where = f"; the database is still at {at}" if at else ""
            raise RevisionFailed(
                "a table rebuild lost what its SQL can no longer re-create on table "
                f"{', '.join(sorted({item.table for item in lost}))}: {'; '.join(failed)}; "
                f"rolled back, nothing committed{where}. Drop or re-create them explicitly in "
                "the revision (op.execute) before or after the batch block"
            )
        return lost


@contextmanager
def watching(connection: Connection) -> Iterator[Watch]:
    """Record the objects, and watch the run's statements for explicit drops, for the body."""
    watch = Watch(connection)
    event.listen(connection, "before_cursor_execute", watch.seen)
    try:
        yield watch
    finally:
        event.remove(connection, "before_cursor_execute", watch.seen)
