"""Drive Alembic through its Python API: status, history and heads here; upgrade, downgrade and
stamp in db/migration_run.py, configuration in db/migration_config.py (both re-exported here, the
names every caller uses).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from db import revision_checksums
from db.errors import BadRevision

if TYPE_CHECKING:
    pass

from db.migration_config import (
    DEFAULT_LOCK_TIMEOUT,
    FILE_TEMPLATE,
    MIGRATIONS_DIR_ENV,
    MODELS_PACKAGE,
    TARGET_METADATA_ENV,
    OnStep,
    alembic_config,
    alembic_errors,
    applied_revisions,
    as_list,
    check_revision_argument,
    current_heads,
    import_models,
    migrations_dir,
    script_directory,
    target_metadata,
)
from db.migration_run import (
    RunOptions,
    RunResult,
    downgrade,
    refuse_ambiguous_step,
    stamp,
    upgrade,
)

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "FILE_TEMPLATE",
    "MIGRATIONS_DIR_ENV",
    "MODELS_PACKAGE",
    "TARGET_METADATA_ENV",
    "MigrationStatus",
    "OnStep",
    "RevisionInfo",
    "RunOptions",
    "RunResult",
    "ScriptInfo",
    "alembic_config",
    "alembic_errors",
    "check_revision_argument",
    "current",
    "current_heads",
    "describe_script",
    "downgrade",
    "heads",
    "history",
    "import_models",
    "migrations_dir",
    "on_connection",
    "refuse_ambiguous_step",
    "script_directory",
    "stamp",
    "status",
    "target_metadata",
    "upgrade",
]

T = TypeVar("T")
_CREATE_DATE = re.compile(r"^Create Date:\s*(.+)$", re.MULTILINE)


@dataclass
class ScriptInfo:
    revision: str
    down_revision: list[str]
    branch_labels: list[str]
    message: str
    created: str | None
    is_head: bool


@dataclass
class RevisionInfo(ScriptInfo):
    applied: bool = False
    is_current: bool = False
    # The file differs from the checksum recorded when it was applied; None: nothing recorded.
    edited: bool | None = None
    file: str | None = None  # the revision file's name


@dataclass
class MigrationStatus:
    current: list[str]
    heads: list[str]
    revisions: list[RevisionInfo] = field(default_factory=list)

    @property
    def pending(self) -> list[RevisionInfo]:
        return [rev for rev in self.revisions if not rev.applied]

    @property
    def edited(self) -> list[RevisionInfo]:
        """Applied revisions whose file changed since `manage` applied (or stamped) them."""
        return [rev for rev in self.revisions if rev.edited]

    @property
    def at_head(self) -> bool:
        return sorted(self.current) == sorted(self.heads)


def describe_script(rev: Script, heads: list[str]) -> ScriptInfo:
    match = _CREATE_DATE.search(rev.longdoc or rev.module.__doc__ or "")
    return ScriptInfo(
        revision=rev.revision,
        down_revision=as_list(rev.down_revision),
        branch_labels=sorted(rev.branch_labels or ()),
        message=rev.doc or "",
        created=match.group(1).strip() if match else None,
        is_head=rev.revision in heads,
    )


def _status(connection: Connection, script: ScriptDirectory) -> MigrationStatus:
    current = current_heads(connection)
    applied = applied_revisions(script, current)
    heads = list(script.get_heads())
    checksums = revision_checksums.recorded(connection)
    revisions = []
    for rev in script.walk_revisions():
        info = describe_script(rev, heads)
        recorded = checksums.get(rev.revision) if rev.revision in applied else None
        revisions.append(
            RevisionInfo(
                **vars(info),
                applied=rev.revision in applied,
                is_current=rev.revision in current,
                edited=None
                if recorded is None
                else revision_checksums.file_checksum(rev.path) != recorded,
                file=Path(rev.path).name,
            )
        )
    revisions.reverse()  # oldest first, the order they apply in
    return MigrationStatus(current=current, heads=heads, revisions=revisions)


async def on_connection(engine: AsyncEngine, fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(sync_connection, *args)` on a fresh connection; no lock (reads only)."""
    async with engine.connect() as connection:
        try:
            return await connection.run_sync(fn, *args)
        finally:
            await connection.rollback()


async def status(engine: AsyncEngine) -> MigrationStatus:
    return await on_connection(engine, _status, script_directory())


async def current(engine: AsyncEngine) -> list[str]:
    return await on_connection(engine, current_heads)


def heads() -> list[ScriptInfo]:
    script = script_directory()
    names = list(script.get_heads())
    with alembic_errors():
        return [describe_script(script.get_revision(name), names) for name in names]


def history(revision_range: str | None = None) -> list[ScriptInfo]:
    """Revisions in `START:END` (either side may be empty), newest first, like `alembic history`."""
    script = script_directory()
    revision_range = revision_range or ":"
    if ":" not in revision_range:
        raise BadRevision(f"bad range {revision_range!r}: use START:END")
    start, _, end = revision_range.partition(":")
    names = list(script.get_heads())
    with alembic_errors():
        revisions = list(script.walk_revisions(start or "base", end or "heads"))
    return [describe_script(rev, names) for rev in revisions]
