"""The progress table, `manage_backfills`: one row per declared backfill.

Created by the revision `b4c1f11a0001` (migrations/versions/); bookkeeping, not a model: drift
checks and autogenerate skip it (db/revision_checksums.include_name). Every function takes a
synchronous Connection and never commits: the caller's transaction (the revision's, or one
batch's) owns the write, which is what makes a batch and its progress atomic.

Row: name, table_name, key_column, state ('pending' | 'complete'), last_key (the last key of
the last committed batch, as text; NULL before the first), rows_done and batches_done (keys
walked and batches committed, all runs together), declared_at, updated_at, completed_at (UTC),
fingerprint (Backfill.fingerprint of the declaration the cursor belongs to; revision
b4c1f11a0002, NULL until known).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.errors import BackfillPending, InvalidArgument

if TYPE_CHECKING:
    from db.backfill.declaration import Backfill

TABLE = "manage_backfills"
PROGRESS_REVISION = "b4c1f11a0001"
FINGERPRINT_REVISION = "b4c1f11a0002"
PENDING, COMPLETE = "pending", "complete"

progress = sa.Table(
    TABLE,
    sa.MetaData(),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("table_name", sa.String(128), nullable=False),
    sa.Column("key_column", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("last_key", sa.Text(), nullable=True),
    sa.Column("rows_done", sa.BigInteger(), nullable=False),
    sa.Column("batches_done", sa.Integer(), nullable=False),
    sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("fingerprint", sa.String(64), nullable=True),
)
# Without fingerprint: a database between revisions b4c1f11a0001 and b4c1f11a0002.
_BASE_COLUMNS = [c for c in progress.c if c.name != "fingerprint"]


@dataclass
class Progress:
    name: str
    table: str
    key: str
    state: str
    last_key: str | None
    rows_done: int
    batches_done: int
    declared_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None
    fingerprint: str | None = None

    @property
    def complete(self) -> bool:
        return self.state == COMPLETE

    @property
    def started(self) -> bool:
        """Its cursor means something: a batch committed, or it was recorded complete."""
        return self.batches_done > 0 or self.complete


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _row(row: Any) -> Progress:
    return Progress(
        name=row.name,
        table=row.table_name,
        key=row.key_column,
        state=row.state,
        last_key=row.last_key,
        rows_done=int(row.rows_done),
        batches_done=int(row.batches_done),
        declared_at=row.declared_at,
        updated_at=row.updated_at,
        completed_at=row.completed_at,
        fingerprint=getattr(row, "fingerprint", None),
    )


def _has_fingerprint(connection: Connection) -> bool:
    """manage_backfills has its fingerprint column (revision b4c1f11a0002 is applied)."""
    if connection.info.get("manage_backfills_fingerprint"):
        return True
    columns = {c["name"] for c in sa.inspect(connection).get_columns(TABLE)}
    present = "fingerprint" in columns
    if present:  # only ever added: remembering it is safe for this connection's life
        connection.info["manage_backfills_fingerprint"] = True
    return present


def _select(connection: Connection) -> sa.Select:
    if _has_fingerprint(connection):
        return sa.select(progress)
    return sa.select(*_BASE_COLUMNS)


def exists(connection: Connection) -> bool:
    return sa.inspect(connection).has_table(TABLE)


def _require_table(connection: Connection) -> None:
    if not exists(connection):
        raise InvalidArgument(
            f"the backfill progress table {TABLE} does not exist: a revision that declares or "
            f"requires a backfill must come after revision {PROGRESS_REVISION}"
        )


def get(connection: Connection, name: str, *, for_update: bool = False) -> Progress | None:
    """The row for `name`; `for_update` locks it until the transaction ends (PostgreSQL)."""
    query = _select(connection).where(progress.c.name == name)
    if for_update:
        query = query.with_for_update()
    row = connection.execute(query).first()
    return None if row is None else _row(row)


def all_rows(connection: Connection) -> dict[str, Progress]:
    """name -> row; empty when the table does not exist (a database before the revision)."""
    if not exists(connection):
        return {}
    return {row.name: _row(row) for row in connection.execute(_select(connection))}


def declare(connection: Connection, backfill: Backfill) -> None:
    """Record `backfill` as pending unless a row exists (a re-applied revision keeps it)."""
    _require_table(connection)
    if get(connection, backfill.name) is not None:
        return
    now = _now()
    values = {
        "name": backfill.name,
        "table_name": backfill.table,
        "key_column": backfill.key,
        "state": PENDING,
        "last_key": None,
        "rows_done": 0,
        "batches_done": 0,
        "declared_at": now,
        "updated_at": now,
        "completed_at": None,
    }
    if _has_fingerprint(connection):
        values["fingerprint"] = backfill.fingerprint
    connection.execute(progress.insert().values(**values))


def changed(row: Progress, backfill: Backfill) -> str | None:
    """What differs between the declaration that made `row`'s cursor and `backfill` now
    ('table', 'key', 'sql' or 'function'), or None. A row with no batch yet has no cursor to
    misread, and a row with no fingerprint (declared before b4c1f11a0002) is compared on table
    and key only."""
    if row.table != backfill.table:
        return f"table is now {backfill.table} (was {row.table})"
    if row.key != backfill.key:
        return f"key is now {backfill.table}.{backfill.key} (was {row.table}.{row.key})"
    if row.fingerprint is not None and row.fingerprint != backfill.fingerprint:
        return f"batch {backfill.work} changed"
    return None


def check_declaration(row: Progress | None, backfill: Backfill) -> None:
    """Refuse (InvalidArgument, exit 5) to resume a cursor made under another declaration."""
    if row is None or not row.started:
        return
    what = changed(row, backfill)
    if what is None:
        return
    done = "it completed" if row.complete else f"{row.batches_done} batches ran"
    raise InvalidArgument(
        f"backfill {backfill.name} changed since {done}: its {what}; its recorded progress "
        f"belongs to the earlier declaration. Revert the revision file, or run `manage migrate "
        f"backfill {backfill.name} --restart` to walk the table again from its first key under "
        "the new one (the rows done before get the new work too)"
    )


def adopt(connection: Connection, row: Progress | None, backfill: Backfill) -> None:
    """Record `backfill` as the declaration of `row` (no batch yet, or no fingerprint yet)."""
    if row is None:
        return
    values: dict[str, Any] = {}
    if row.table != backfill.table or row.key != backfill.key:
        values.update(table_name=backfill.table, key_column=backfill.key)
    if _has_fingerprint(connection) and row.fingerprint != backfill.fingerprint:
        values["fingerprint"] = backfill.fingerprint
    if values:
        connection.execute(progress.update().where(progress.c.name == row.name).values(**values))


def restart(connection: Connection, backfill: Backfill) -> None:
    """Back to no batch done under `backfill` as declared now (`migrate backfill --restart`)."""
    values: dict[str, Any] = {
        "table_name": backfill.table,
        "key_column": backfill.key,
        "state": PENDING,
        "last_key": None,
        "rows_done": 0,
        "batches_done": 0,
        "updated_at": _now(),
        "completed_at": None,
    }
    if _has_fingerprint(connection):
        values["fingerprint"] = backfill.fingerprint
    connection.execute(progress.update().where(progress.c.name == backfill.name).values(**values))


def forget(connection: Connection, name: str) -> None:
    if exists(connection):
        connection.execute(progress.delete().where(progress.c.name == name))


def declare_statement(backfill: Backfill) -> sa.Insert:
    """`declare` as one statement for offline SQL: insert the pending row unless it exists."""
    now = sa.func.current_timestamp()
    row = sa.select(
        sa.literal(backfill.name, sa.String()),
        sa.literal(backfill.table, sa.String()),
        sa.literal(backfill.key, sa.String()),
        sa.literal(PENDING, sa.String()),
        sa.literal(0, sa.Integer()),
        sa.literal(0, sa.Integer()),
        now,
        now,
    ).where(~sa.exists().where(progress.c.name == backfill.name))
    columns = ["name", "table_name", "key_column", "state", "rows_done", "batches_done"]
    return progress.insert().from_select([*columns, "declared_at", "updated_at"], row)


def forget_statement(name: str) -> sa.Delete:
    return progress.delete().where(progress.c.name == name)


def require_statement_postgresql(name: str) -> sa.TextClause:
    """A DO block that raises unless backfill `name` is complete (offline SQL, PostgreSQL).
    `name` matches Backfill's name pattern (letters, digits, _ . -): safe inside quotes."""
    if not _SAFE_NAME.match(name):
        raise InvalidArgument(f"require_backfill: {name!r} is not a backfill name")
    message = (
        f"this revision requires backfill {name} to be complete: run manage migrate backfill "
        f"{name}, then apply this script again"
    )
    return sa.text(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM manage_backfills "
        f"WHERE name = '{name}' AND state = 'complete') THEN RAISE EXCEPTION '{message}'; "
        "END IF; END $$"
    )


_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")


def advance(connection: Connection, name: str, *, last_key: Any, keys: int) -> None:
    """One batch done: move the cursor past `last_key`, add `keys` to the counters."""
    connection.execute(
        progress.update()
        .where(progress.c.name == name)
        .values(
            last_key=encode_key(last_key),
            rows_done=progress.c.rows_done + keys,
            batches_done=progress.c.batches_done + 1,
            updated_at=_now(),
        )
    )


def mark_complete(connection: Connection, name: str) -> None:
    now = _now()
    connection.execute(
        progress.update()
        .where(progress.c.name == name)
        .values(state=COMPLETE, updated_at=now, completed_at=now)
    )


# -- the cursor ---------------------------------------------------------------------------------


def encode_key(value: Any) -> str:
    """A key as text for `last_key`: ISO 8601 for dates and times, str() for the rest."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return str(value)


def decode_key(text: str | None, column: sa.Column) -> Any:
    """`last_key` back to the key column's Python type (the reflected column's python_type)."""
    decoder = _decoder(column)
    return None if text is None else decoder(text)


def _decoder(column: sa.Column) -> Any:
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = str
    if python_type is bool or python_type not in _DECODERS:
        raise InvalidArgument(
            f"cannot walk {column.table.name}.{column.name}: its type {column.type} is not an "
            "ordered key type (integer, text, date/time, UUID, numeric)"
        )
    return _DECODERS[python_type]


def check_key(connection: Connection, column: sa.Column) -> None:
    """Refuse (InvalidArgument, exit 5) a key a backfill cannot walk in even batches: of a type
    with no order we can resume from, or neither the table's single-column primary key nor
    covered by a single-column unique index or constraint (an unindexed key scans the whole
    table for every batch; a non-unique one makes a batch of every row sharing a key)."""
    _decoder(column)
    table, key = column.table.name, column.name
    inspector = sa.inspect(connection)
    unique = [inspector.get_pk_constraint(table).get("constrained_columns") or []]
    unique += [c["column_names"] for c in inspector.get_unique_constraints(table)]
    unique += [i["column_names"] for i in inspector.get_indexes(table) if i.get("unique")]
    if [key] not in unique:
        raise InvalidArgument(
            f"cannot walk {table}.{key}: it is neither the primary key nor has a unique index "
            "of its own; a backfill's key must be unique and indexed (every batch is a range "
            "scan of that index)"
        )


_DECODERS: dict[type, Any] = {
    int: int,
    str: str,
    decimal.Decimal: decimal.Decimal,
    float: float,
    dt.datetime: dt.datetime.fromisoformat,
    dt.date: dt.date.fromisoformat,
    dt.time: dt.time.fromisoformat,
    uuid.UUID: uuid.UUID,
}


def key_exists(connection: Connection, table: str, key: str) -> bool:
    inspector = sa.inspect(connection)
    if not inspector.has_table(table):
        return False
    return key in {c["name"] for c in inspector.get_columns(table)}


GONE = (
    "a later revision dropped or renamed it, so nothing can run this backfill; if its work is "
    "moot, remove its row: DELETE FROM manage_backfills WHERE name = '{name}'"
)


def key_column(connection: Connection, table: str, key: str) -> sa.Column:
    """The reflected key column: its type binds the cursor and decodes `last_key`."""
    try:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
    except sa.exc.NoSuchTableError:
        raise InvalidArgument(f"backfill table {table} no longer exists") from None
    if key not in reflected.c:
        raise InvalidArgument(f"backfill key {table}.{key} no longer exists") from None
    return reflected.c[key]


def keys_after(column: sa.Column, cursor: Any) -> sa.Select:
    """SELECT key FROM table WHERE key > cursor ORDER BY key (no WHERE before the first batch)."""
    query = sa.select(column.label("k")).where(column.is_not(None))
    if cursor is not None:
        query = query.where(column > cursor)
    return query.order_by(column)


def remaining(connection: Connection, row: Progress) -> bool:
    """True when some row has a key past the cursor (an indexed probe, LIMIT 1)."""
    return has_keys_after(connection, row.table, row.key, row.last_key)


def has_keys_after(connection: Connection, table: str, key: str, last_key: str | None) -> bool:
    column = key_column(connection, table, key)
    probe = keys_after(column, decode_key(last_key, column)).limit(1)
    return connection.execute(probe).first() is not None


def require_complete(connection: Connection, name: str) -> None:
    """Refuse unless backfill `name` is complete; one with nothing left is marked complete."""
    _require_table(connection)
    row = get(connection, name)
    if row is None:
        raise BackfillPending(
            f"this revision requires backfill {name!r}, which was never declared on this "
            "database (the revision that defines it must call .declare() in upgrade())",
            code="BACKFILL_PENDING",
        )
    if row.complete:
        return
    if not remaining(connection, row):
        mark_complete(connection, name)
        return
    first = (
        # One transaction for the whole run: the declaring revision rolled back too.
        "upgrade to the revision that declares it, " if connection.dialect.name == "sqlite" else ""
    )
    raise BackfillPending(
        f"this revision requires backfill {name!r} on {row.table} to be complete "
        f"({row.rows_done} rows done so far): {first}run `manage migrate backfill {name}`, "
        "then upgrade again",
        code="BACKFILL_PENDING",
    )
