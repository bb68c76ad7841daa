"""Drive Alembic through its Python API on a connection we own.

`alembic.command` functions are synchronous and read module globals, so they run inside
`AsyncConnection.run_sync` (one command at a time per process) with the sync connection
passed to env.py through `config.attributes["connection"]`. Upgrade, downgrade and stamp run
under the migration lock (db/migration_lock.py) for their whole run.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations
from db import progress, revision_checksums
from db.config import DatabaseSettings
from db.errors import BadRevision, InvalidArgument
from db.migration_lock import OnWait, end_read, migration_lock

if TYPE_CHECKING:
    from sqlalchemy import MetaData

T = TypeVar("T")

# Same as alembic.ini, so `alembic revision` and `manage migrate make` name files alike.
FILE_TEMPLATE = "%(year)d_%(month).2d_%(day).2d_%(hour).2d%(minute).2d-%(rev)s_%(slug)s"
# A different Alembic script directory (with its own env.py): for tests and tooling only.
MIGRATIONS_DIR_ENV = "MANAGE_MIGRATIONS_DIR"
# "module:attribute" of the MetaData that `make` and `check` compare against.
TARGET_METADATA_ENV = "MANAGE_TARGET_METADATA"
# The package whose import registers every table on db.metadata.metadata. Named, not imported
# here: db/ sits below app/ and learns the models' package from configuration, as env.py does.
MODELS_PACKAGE = "app.models"
DEFAULT_LOCK_TIMEOUT = 60.0
# Called after each revision runs: (revision, message, is_upgrade). For progress display.
OnStep = Callable[[str, str, bool], None]
_CREATE_DATE = re.compile(r"^Create Date:\s*(.+)$", re.MULTILINE)


def migrations_dir() -> Path:
    override = os.environ.get(MIGRATIONS_DIR_ENV)
    return Path(override).resolve() if override else Path(migrations.__file__).parent


def alembic_config(*, output_buffer: io.StringIO | None = None) -> Config:
    """The Alembic configuration, built in code so an installed `manage` needs no alembic.ini."""
    cfg = Config(output_buffer=output_buffer, cmd_opts=argparse.Namespace(quiet=True))
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("file_template", FILE_TEMPLATE.replace("%", "%%"))
    cfg.set_main_option("truncate_slug_length", "40")
    return cfg


def script_directory(cfg: Config | None = None) -> ScriptDirectory:
    return ScriptDirectory.from_config(cfg or alembic_config())


def target_metadata() -> MetaData:
    """The models' MetaData (or the one MANAGE_TARGET_METADATA names)."""
    spec = os.environ.get(TARGET_METADATA_ENV)
    if not spec:
        from db.metadata import metadata

        importlib.import_module(MODELS_PACKAGE)  # registers every table on the metadata
        return metadata
    module_name, _, attribute = spec.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute or "metadata")
    except (ImportError, AttributeError) as exc:
        raise InvalidArgument(f"{TARGET_METADATA_ENV}={spec!r}: {exc}") from None


@contextmanager
def alembic_errors() -> Iterator[None]:
    """Alembic's own errors (unknown revision, multiple heads, ...) as one clean line: exit 5."""
    try:
        yield
    except (CommandError, RevisionError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadRevision(message) from exc


def check_revision_argument(text: str, *, what: str = "revision") -> str:
    """Refuse what Alembic would trip over (an assertion, not a clean error): exit 5."""
    if not text.strip():
        raise BadRevision(f"the {what} is empty")
    if not text.isprintable():
        raise BadRevision(f"the {what} contains control characters")
    return text.strip()


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


@dataclass
class RunResult:
    """What upgrade, downgrade and stamp did: heads before and after, revisions run."""

    before: list[str]
    after: list[str]
    applied: list[str]
    reverted: list[str] = field(default_factory=list)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def describe_script(rev: Script, heads: list[str]) -> ScriptInfo:
    match = _CREATE_DATE.search(rev.longdoc or rev.module.__doc__ or "")
    return ScriptInfo(
        revision=rev.revision,
        down_revision=_as_list(rev.down_revision),
        branch_labels=sorted(rev.branch_labels or ()),
        message=rev.doc or "",
        created=match.group(1).strip() if match else None,
        is_head=rev.revision in heads,
    )


def current_heads(connection: Connection) -> list[str]:
    heads = list(MigrationContext.configure(connection).get_current_heads())
    end_read(connection)
    return heads


def _applied(script: ScriptDirectory, heads: list[str]) -> set[str]:
    applied: set[str] = set()
    with alembic_errors():
        for head in heads:
            applied.update(rev.revision for rev in script.iterate_revisions(head, "base"))
    return applied


def _status(connection: Connection, script: ScriptDirectory) -> MigrationStatus:
    current = current_heads(connection)
    applied = _applied(script, current)
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


def _step_reporter(on_step: OnStep | None) -> Callable[..., None]:
    def report(*, step: Any, **_: Any) -> None:
        if not step.is_stamp:
            # For the interruption message: what a revision-by-revision run already committed.
            kind = "revision" if step.is_upgrade else "reverted revision"
            progress.step_done(kind, step.up_revision_id)
            if on_step is not None:
                on_step(step.up_revision_id, step.up_revision.doc or "", step.is_upgrade)

    return report


def _run(
    connection: Connection,
    cfg: Config,
    action: Callable[[Config], None],
    on_step: OnStep | None = None,
    restamp: bool = False,
) -> RunResult:
    script = script_directory(cfg)
    before = current_heads(connection)
    cfg.attributes["connection"] = connection
    cfg.attributes["on_version_apply"] = _step_reporter(on_step)
    progress.track(connection)
    with alembic_errors():
        action(cfg)
    after = current_heads(connection)
    old, new = _applied(script, before), _applied(script, after)
    order = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    result = RunResult(
        before=before,
        after=after,
        applied=[r for r in order if r in new - old],
        reverted=[r for r in reversed(order) if r in old - new],
    )
    # Same connection, same lock; committed with the run (after the revisions' own commits).
    # A stamp also re-records the revisions it stamps: how an intended edit is accepted.
    recorded = [*result.applied, *(after if restamp else [])]
    revision_checksums.update(
        connection,
        applied={
            r: revision_checksums.file_checksum(script.get_revision(r).path) for r in recorded
        },
        reverted=result.reverted,
    )
    return result


async def _locked_run(
    engine: AsyncEngine,
    action: Callable[[Config], None],
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_wait: OnWait | None = None,
    settings: DatabaseSettings | None = None,
    on_step: OnStep | None = None,
    restamp: bool = False,
) -> RunResult:
    settings = settings or DatabaseSettings()
    async with engine.connect() as connection:
        async with migration_lock(
            connection, timeout=lock_timeout, settings=settings, on_wait=on_wait
        ):
            result = await connection.run_sync(_run, alembic_config(), action, on_step, restamp)
            await connection.commit()
            progress.steps_committed()
        return result


class RunOptions(TypedDict, total=False):
    lock_timeout: float  # seconds to wait for the migration lock (default 60)
    on_wait: OnWait | None  # told who holds the lock while waiting
    settings: DatabaseSettings | None  # MIGRATION_* timeouts, SQLite busy timeout
    on_step: OnStep | None  # told about each revision as it runs


async def upgrade(
    engine: AsyncEngine, revision: str = "head", **options: Unpack[RunOptions]
) -> RunResult:
    """Upgrade to `revision` (head, a revision id, +N, branch@head) under the migration lock."""
    return await _locked_run(engine, lambda cfg: command.upgrade(cfg, revision), **options)


async def downgrade(engine: AsyncEngine, revision: str, **options: Unpack[RunOptions]) -> RunResult:
    """Downgrade to `revision` (-N, base, a revision id) under the migration lock."""
    return await _locked_run(engine, lambda cfg: command.downgrade(cfg, revision), **options)


async def stamp(engine: AsyncEngine, revision: str, **options: Unpack[RunOptions]) -> RunResult:
    """Record `revision` in alembic_version without running any migration."""
    options.pop("on_step", None)  # nothing runs
    return await _locked_run(
        engine, lambda cfg: command.stamp(cfg, revision), restamp=True, **options
    )


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
