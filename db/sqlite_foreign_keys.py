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

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from db.errors import ForeignKeyViolation

# Row ids named per table in the error line; more are counted, not listed.
SHOWN_ROWS = 5


def set_enforcement(connection: Connection, *, on: bool) -> None:
    """Switch `PRAGMA foreign_keys` on the connection; call it outside any transaction."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def violations(connection: Connection) -> list[tuple[str, int | None, str]]:
    """(child table, rowid or None, parent table) for each row whose foreign key points nowhere."""
    rows = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


def describe(found: list[tuple[str, int | None, str]]) -> str:
    """'user_roles rows 3, 4 -> users; ...': the tables and rows, never their values."""
    by_table: dict[tuple[str, str], list[int | None]] = defaultdict(list)
    for table, rowid, parent in found:
        by_table[(table, parent)].append(rowid)
    parts = []
    for (table, parent), rowids in sorted(by_table.items()):
        shown = ", ".join("?" if r is None else str(r) for r in rowids[:SHOWN_ROWS])
        more = f" and {len(rowids) - SHOWN_ROWS} more" if len(rowids) > SHOWN_ROWS else ""
        noun = "row" if len(rowids) == 1 else "rows"
        parts.append(f"{table} {noun} {shown}{more} (rowid) reference missing {parent}")
    return "; ".join(parts)


def check(
    connection: Connection, *, at: str = "", before: list[tuple[str, int | None, str]] = ()
) -> None:
    """Raise ForeignKeyViolation naming each table and row that points nowhere, except those
    already found `before` the migration (orphans someone wrote with enforcement off are not
    this migration's doing, and must not block every migration from now on)."""
    known = set(before)
    found = [row for row in violations(connection) if row not in known]
    if found:
        where = f"; the database is still at {at}" if at else ""
        raise ForeignKeyViolation(
            f"the migration left foreign keys pointing nowhere: {describe(found)}; "
            f"rolled back, nothing committed{where}"
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
    with enforcement_off(connection), connection.begin():
        before = violations(connection)
        body(connection)
        check(connection, before=before)
