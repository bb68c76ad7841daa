"""Find the backfills revision files declare, and which of them this database still owes.

A revision declares a backfill by holding a `Backfill` at module level (any name; a list or tuple
of them works too). Alembic imports every revision module to build its graph, so finding them
costs no extra import.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from db.backfill import progress
from db.backfill.declaration import Backfill
from db.errors import BadRevision, InvalidArgument, NotFound
from db.migrations import (
    MigrationStatus,
    alembic_errors,
    check_revision_argument,
    current_heads,
)

# pg_advisory_lock(int, int) namespace for "this backfill is running": "mbf1" in ASCII. The
# second key is crc32(name) & 0x7fffffff, so pg_locks shows classid = NS, objid = that, objsubid 2.
LOCK_NAMESPACE = 0x6D626631


def lock_id(name: str) -> int:
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


@dataclass
class Declared:
    """A backfill as a revision file declares it."""

    revision: str
    file: str
    backfill: Backfill


@dataclass
class BackfillState:
    """A declared backfill on this database (for `migrate backfill --dry-run`, status, db check).

    state: 'not applied' (its revision is pending), 'pending' (no batch yet), 'partial' (some
    batches committed, not running now), 'running' (a session holds its lock; PostgreSQL only),
    'changed' (its revision file was edited after batches ran or it completed: its progress
    belongs to the earlier declaration; `migrate backfill NAME --restart`), 'nothing left' (no
    key past its cursor, e.g. an empty table; a run or `require_backfill` records it complete),
    'missing' (its table or key column no longer exists: a later revision dropped or renamed it;
    nothing can run it) or 'complete'.
    """

    name: str
    revision: str
    table: str
    key: str
    state: str
    rows_done: int
    batches_done: int
    last_key: str | None
    updated_at: str | None

    @property
    def owed(self) -> bool:
        """Applied but not complete: work `manage migrate backfill` still has to do."""
        return self.state in {"pending", "partial", "running", "changed"}

    @property
    def listed(self) -> bool:
        """Shown by `migrate status` / `db check`: owed, or stuck with its table gone."""
        return self.owed or self.state == "missing"


def declared(script: ScriptDirectory) -> list[Declared]:
    """Every declared backfill, oldest revision first; a name used twice is refused (exit 5)."""
    found: list[Declared] = []
    seen: dict[str, str] = {}
    with alembic_errors():
        revisions = list(reversed(list(script.walk_revisions())))
    for rev in revisions:
        for value in vars(rev.module).values():
            candidates = value if isinstance(value, list | tuple) else (value,)
            for item in candidates:
                if not isinstance(item, Backfill):
                    continue
                if item.name in seen and seen[item.name] != rev.revision:
                    raise InvalidArgument(
                        f"backfill name {item.name!r} is declared by revisions "
                        f"{seen[item.name]} and {rev.revision}; names must be unique"
                    )
                if item.name not in seen:
                    seen[item.name] = rev.revision
                    found.append(Declared(rev.revision, Path(rev.path).name, item))
    return found


def applied_revisions(connection: Connection, script: ScriptDirectory) -> set[str]:
    applied: set[str] = set()
    with alembic_errors():
        for head in current_heads(connection):
            applied.update(rev.revision for rev in script.iterate_revisions(head, "base"))
    return applied


def running(connection: Connection) -> set[int]:
    """Lock ids of the backfills some session is running now (PostgreSQL; empty on SQLite)."""
    if connection.dialect.name != "postgresql":
        return set()
    rows = connection.execute(
        text(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = :ns AND objsubid = 2 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"ns": LOCK_NAMESPACE},
    )
    return {int(objid) for (objid,) in rows}


def states(connection: Connection, script: ScriptDirectory) -> list[BackfillState]:
    """Every declared backfill with its state on this database, oldest revision first."""
    items = declared(script)
    if not items:
        return []
    applied = applied_revisions(connection, script)
    rows = progress.all_rows(connection)
    busy = running(connection)
    result = []
    for item in items:
        row = rows.get(item.backfill.name)
        if item.revision not in applied:
            state = "not applied"
        elif row is not None and row.started and progress.changed(row, item.backfill):
            state = "changed"
        elif row is not None and row.complete:
            state = "complete"
        elif lock_id(item.backfill.name) in busy:
            state = "running"
        elif (left := _work_left(connection, item.backfill, row)) is None:
            state = "missing"
        elif not left:
            state = "nothing left"
        elif row is not None and row.batches_done:
            state = "partial"
        else:
            state = "pending"
        result.append(
            BackfillState(
                name=item.backfill.name,
                revision=item.revision,
                table=item.backfill.table,
                key=item.backfill.key,
                state=state,
                rows_done=row.rows_done if row else 0,
                batches_done=row.batches_done if row else 0,
                last_key=row.last_key if row else None,
                updated_at=row.updated_at.isoformat() if row else None,
            )
        )
    return result


def _work_left(
    connection: Connection, backfill: Backfill, row: progress.Progress | None
) -> bool | None:
    """A key past the cursor exists (a LIMIT 1 probe); None when the table or its key column
    is gone (a later revision dropped or renamed it). An empty table owes nothing."""
    if not progress.key_exists(connection, backfill.table, backfill.key):
        return None
    try:
        return progress.has_keys_after(
            connection, backfill.table, backfill.key, row.last_key if row else None
        )
    except InvalidArgument:
        return True  # a key type that cannot be walked: `migrate backfill` says why (exit 5)


def select(connection: Connection, script: ScriptDirectory, target: str | None) -> list[Declared]:
    """What to run: `target` (a backfill name or a revision) or, with None, every one owed.

    Unknown revision: BadRevision (exit 5); a revision declaring none: NotFound (exit 3); a
    declared backfill whose revision is not applied yet: InvalidArgument (exit 5).
    """
    items = declared(script)
    applied = applied_revisions(connection, script)
    if target is None:
        owed = {s.name for s in states(connection, script) if s.owed}
        return [item for item in items if item.backfill.name in owed]
    target = check_revision_argument(target, what="backfill name or revision")
    chosen = [item for item in items if item.backfill.name == target]
    if not chosen:
        try:
            with alembic_errors():
                revision = script.get_revision(target)
        except BadRevision as exc:
            raise BadRevision(
                f"{target!r} is neither a backfill name nor a known revision ({exc.message})"
            ) from None
        if revision is None:
            raise BadRevision(f"{target!r} is not a single revision")
        chosen = [item for item in items if item.revision == revision.revision]
        if not chosen:
            raise NotFound(f"revision {revision.revision} declares no backfill", code="NOT_FOUND")
    for item in chosen:
        if item.revision not in applied:
            raise InvalidArgument(
                f"backfill {item.backfill.name!r} is declared by revision {item.revision}, "
                f"which is not applied yet: run `manage migrate upgrade {item.revision}` first"
            )
    return chosen


async def owed(engine: AsyncEngine) -> list[BackfillState]:
    """The backfills this database still owes (pending, partial, running or changed) and those
    whose table is gone ('missing'), oldest first."""
    from db.migrations import on_connection, script_directory

    found = await on_connection(engine, states, script_directory())
    return [state for state in found if state.listed]


@dataclass
class StatusWithBackfills(MigrationStatus):
    """`migrate status`'s report plus the backfills still owed."""

    backfills: list[BackfillState] = field(default_factory=list)


async def with_owed(engine: AsyncEngine, status: MigrationStatus) -> StatusWithBackfills:
    return StatusWithBackfills(**vars(status), backfills=await owed(engine))
