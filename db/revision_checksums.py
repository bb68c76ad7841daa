"""Checksums of applied revision files: detect a revision edited after it was applied.

When `manage` applies revisions (upgrade, stamp; db init and db reset upgrade), it records the
sha256 of each newly applied revision file in `manage_revision_checksums`, on the migration
connection and under the migration lock, inside that revision's own transaction (Alembic's
on_version_apply hook, db/migration_run.py): a later failure or an interrupt keeps the rows of the
revisions that committed. Downgrade and stamp delete the rows of the revisions they unmark. A
revision with no row (applied before this existed, or by plain `alembic`) is "unknown" and never
flagged. The table is bookkeeping, not a model: drift checks and autogenerate skip it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

TABLE = "manage_revision_checksums"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "revision VARCHAR(64) NOT NULL PRIMARY KEY, "
    "checksum VARCHAR(64) NOT NULL, "
    "recorded_at TIMESTAMP NOT NULL)"
)


def file_checksum(path: str | Path) -> str:
    """sha256 of the file with line endings normalised: a CRLF checkout is not an edit."""
    data = Path(path).read_bytes().replace(b"\r\n", b"\n")
    return hashlib.sha256(data).hexdigest()


# `manage`'s bookkeeping tables: this one and the backfill progress (db/backfill/progress.py).
BOOKKEEPING_TABLES = frozenset({TABLE, "manage_backfills"})


def include_name(name: str | None, type_: str, _parent_names: Any = None) -> bool:
    """Alembic `include_name` hook: the bookkeeping tables are never compared or dropped."""
    return not (type_ == "table" and name in BOOKKEEPING_TABLES)


def recorded(connection: Connection) -> dict[str, str]:
    """revision -> recorded checksum; empty when the table does not exist (yet)."""
    if not inspect(connection).has_table(TABLE):
        return {}
    rows = connection.execute(text(f"SELECT revision, checksum FROM {TABLE}"))
    return {revision: checksum for revision, checksum in rows}


def update(connection: Connection, *, applied: dict[str, str], reverted: Iterable[str]) -> None:
    """Record `applied` (revision -> checksum) and forget `reverted`; the caller commits."""
    reverted = list(reverted)
    if not applied and not reverted:
        return
    connection.execute(text(_CREATE))
    for revision in [*reverted, *applied]:
        connection.execute(text(f"DELETE FROM {TABLE} WHERE revision = :r"), {"r": revision})
    now = datetime.now(UTC).replace(tzinfo=None)
    for revision, checksum in applied.items():
        connection.execute(
            text(f"INSERT INTO {TABLE} (revision, checksum, recorded_at) VALUES (:r, :c, :t)"),
            {"r": revision, "c": checksum, "t": now},
        )
