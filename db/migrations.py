"""Drive Alembic through its Python API on a connection we own.

`alembic.command` functions are synchronous and read module globals, so they run inside
`AsyncConnection.run_sync` (one command at a time per process) with the sync connection
passed to env.py through `config.attributes["connection"]`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations

T = TypeVar("T")

# Same as alembic.ini, so `alembic revision` and `manage migrate make` name files alike.
FILE_TEMPLATE = "%(year)d_%(month).2d_%(day).2d_%(hour).2d%(minute).2d-%(rev)s_%(slug)s"
_CREATE_DATE = re.compile(r"^Create Date:\s*(.+)$", re.MULTILINE)


def alembic_config() -> Config:
    """The Alembic configuration, built in code so an installed `manage` needs no alembic.ini."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.set_main_option("file_template", FILE_TEMPLATE.replace("%", "%%"))
    cfg.set_main_option("truncate_slug_length", "40")
    return cfg


def script_directory(cfg: Config | None = None) -> ScriptDirectory:
    return ScriptDirectory.from_config(cfg or alembic_config())


@dataclass
class RevisionInfo:
    revision: str
    down_revision: list[str]
    message: str
    created: str | None
    applied: bool
    is_head: bool
    is_current: bool


@dataclass
class MigrationStatus:
    current: list[str]
    heads: list[str]
    revisions: list[RevisionInfo] = field(default_factory=list)

    @property
    def pending(self) -> list[RevisionInfo]:
        return [rev for rev in self.revisions if not rev.applied]

    @property
    def at_head(self) -> bool:
        return sorted(self.current) == sorted(self.heads)


@dataclass
class UpgradeResult:
    before: list[str]
    after: list[str]
    applied: list[str]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _current_heads(connection: Connection) -> list[str]:
    heads = list(MigrationContext.configure(connection).get_current_heads())
    # Reading alembic_version autobegins a transaction; end it, or Alembic would treat the
    # connection as externally managed and never commit (and autocommit_block would fail).
    connection.commit()
    return heads


def _applied(script: ScriptDirectory, heads: list[str]) -> set[str]:
    applied: set[str] = set()
    for head in heads:
        applied.update(rev.revision for rev in script.iterate_revisions(head, "base"))
    return applied


def _status(connection: Connection, script: ScriptDirectory) -> MigrationStatus:
    current = _current_heads(connection)
    applied = _applied(script, current)
    heads = list(script.get_heads())
    revisions = []
    for rev in script.walk_revisions():
        match = _CREATE_DATE.search(rev.longdoc or rev.module.__doc__ or "")
        revisions.append(
            RevisionInfo(
                revision=rev.revision,
                down_revision=_as_list(rev.down_revision),
                message=rev.doc or "",
                created=match.group(1).strip() if match else None,
                applied=rev.revision in applied,
                is_head=rev.revision in heads,
                is_current=rev.revision in current,
            )
        )
    revisions.reverse()  # oldest first, the order they apply in
    return MigrationStatus(current=current, heads=heads, revisions=revisions)


def _upgrade(connection: Connection, cfg: Config, revision: str) -> UpgradeResult:
    script = script_directory(cfg)
    before = _current_heads(connection)
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)
    after = _current_heads(connection)
    newly = _applied(script, after) - _applied(script, before)
    order = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    return UpgradeResult(before=before, after=after, applied=[r for r in order if r in newly])


async def _on_connection(engine: AsyncEngine, fn: Callable[..., T], *args: Any) -> T:
    async with engine.connect() as connection:
        result = await connection.run_sync(fn, *args)
        await connection.commit()
        return result


async def upgrade(engine: AsyncEngine, revision: str = "head") -> UpgradeResult:
    return await _on_connection(engine, _upgrade, alembic_config(), revision)


async def status(engine: AsyncEngine) -> MigrationStatus:
    return await _on_connection(engine, _status, script_directory())
