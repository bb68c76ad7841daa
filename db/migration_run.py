"""Upgrade, downgrade and stamp under the migration lock, on a connection we own.

`alembic.command` functions are synchronous and read module globals, so they run inside
`AsyncConnection.run_sync` (one command at a time per process) with the sync connection passed to
env.py through `config.attributes["connection"]`. A revision that raises becomes RevisionFailed
(db/migration_failures.py); SQLite runs are checked for foreign keys before they commit
(db/sqlite_foreign_keys.py); each revision's checksum is recorded in its own transaction.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from contextlib import ExitStack, redirect_stdout
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from db import progress, revision_checksums, sqlite_foreign_keys, sqlite_rebuilds
from db.config import DatabaseSettings
from db.errors import BadRevision, DatabaseLayerError
from db.migration_config import (
    DEFAULT_LOCK_TIMEOUT,
    OnStep,
    alembic_config,
    alembic_errors,
    applied_revisions,
    current_heads,
    known_heads,
    script_directory,
)
from db.migration_failures import (
    failing_step,
    is_transient,
    revision_failed,
    revision_timed_out,
    timeout_reason,
)
from db.migration_lock import OnWait, holds_exclusive_transaction, migration_lock


@dataclass
class RunResult:
    """What upgrade, downgrade and stamp did: heads before and after, revisions run."""

    before: list[str]
    after: list[str]
    applied: list[str]
    reverted: list[str] = field(default_factory=list)


def _version_callback(on_step: OnStep | None) -> Callable[..., None]:
    """Alembic's on_version_apply hook, called inside each revision's own transaction.

    Records (upgrade) or forgets (downgrade) that revision's checksum right there, so a later
    failure or an interrupt never loses the checksums of revisions that already committed.
    """

    def after_step(*, ctx: MigrationContext, step: Any, **_: Any) -> None:
        if step.is_stamp:
            return
        revision = step.up_revision_id
        if step.is_upgrade:
            checksum = revision_checksums.file_checksum(step.up_revision.path)
            revision_checksums.update(ctx.connection, applied={revision: checksum}, reverted=[])
        else:
            revision_checksums.update(ctx.connection, applied={}, reverted=[revision])
        # For the interruption message: what a revision-by-revision run already committed.
        progress.step_done("revision" if step.is_upgrade else "reverted revision", revision)
        if on_step is not None:
            on_step(revision, step.up_revision.doc or "", step.is_upgrade)

    return after_step


def _heads_after_failure(connection: Connection, before: list[str]) -> list[str] | None:
    """Where a failed run left the database. SQLite: the run's one transaction rolls back, so
    where it started; PostgreSQL: the failed revision rolled back, earlier ones committed."""
    if holds_exclusive_transaction(connection):
        return before
    try:
        if connection.in_transaction():
            connection.rollback()
        return current_heads(connection)
    except Exception:
        return None


def _run_action(
    connection: Connection,
    cfg: Config,
    action: Callable[[Config], None],
    name: str,
    before: list[str],
) -> None:
    """Run the Alembic command: revision output (print) goes to stderr, never into stdout
    (which may be carrying a --json document); a raising revision becomes RevisionFailed."""
    script = script_directory(cfg)
    sqlite = connection.dialect.name == "sqlite"
    orphans = sqlite_foreign_keys.violations(connection) if sqlite else []
    with ExitStack() as stack:
        watch = stack.enter_context(sqlite_rebuilds.watching(connection)) if sqlite else None
        _run_revisions(connection, cfg, action, name, before, script)
    if watch is not None:  # a rebuild's lost triggers and expression indexes, back
        watch.restore(connection, at=", ".join(before) or "base")
    if sqlite:
        sqlite_foreign_keys.check(connection, at=", ".join(before) or "base", before=orphans)


def _run_revisions(
    connection: Connection,
    cfg: Config,
    action: Callable[[Config], None],
    name: str,
    before: list[str],
    script: Any,
) -> None:
    with alembic_errors():  # Alembic's errors outside any revision: a bad revision, exit 5
        try:
            with redirect_stdout(sys.stderr):
                action(cfg)
        except DatabaseLayerError:
            raise
        except (Exception, SystemExit) as exc:
            if is_transient(exc):
                # Only a timeout leaves a live connection to read the revision from.
                timed_out = timeout_reason(exc) and revision_timed_out(
                    exc, script=script, now=_heads_after_failure(connection, before)
                )
                if not timed_out:
                    raise
                raise timed_out from exc
            if (
                isinstance(exc, CommandError | RevisionError)
                and failing_step(exc, script)[0] is None
            ):
                raise
            now = _heads_after_failure(connection, before)
            raise revision_failed(exc, script=script, action=name, now=now) from exc


def _run(
    connection: Connection,
    cfg: Config,
    action: Callable[[Config], None],
    name: str,
    on_step: OnStep | None = None,
) -> RunResult:
    script = script_directory(cfg)
    before = known_heads(script, current_heads(connection))
    cfg.attributes["connection"] = connection
    cfg.attributes["on_version_apply"] = _version_callback(on_step)
    progress.track(connection)
    _run_action(connection, cfg, action, name, before)
    after = current_heads(connection)
    old, new = applied_revisions(script, before), applied_revisions(script, after)
    order = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    result = RunResult(
        before=before,
        after=after,
        applied=[r for r in order if r in new - old],
        reverted=[r for r in reversed(order) if r in old - new],
    )
    if name == "stamp":
        # Nothing ran, so no step recorded anything: record what is now applied (the stamped
        # heads re-recorded: how an intended edit is accepted) and forget what is not.
        recorded = [*result.applied, *after]
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
    name: str = "upgrade",
) -> RunResult:
    settings = settings or DatabaseSettings()
    async with engine.connect() as connection:
        async with migration_lock(
            connection, timeout=lock_timeout, settings=settings, on_wait=on_wait
        ):
            cfg = alembic_config()
            cfg.attributes["naming_convention"] = settings.migration_naming_convention
            # SQLite commits the whole run at the end (and a failure rolls all of it back):
            # report each revision only once it is committed, never "applied" then undone.
            deferred: list[tuple[str, str, bool]] = []
            sqlite = connection.dialect.name == "sqlite"
            report = (lambda *step: deferred.append(step)) if sqlite and on_step else on_step
            result = await connection.run_sync(_run, cfg, action, name, report)
            await connection.commit()
            progress.steps_committed()
        if on_step is not None:
            for step in deferred:
                on_step(*step)
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


_RELATIVE_DOWN = re.compile(r"^-\d+$")


def refuse_ambiguous_step(current: list[str], revision: str) -> None:
    """`downgrade -N` from several heads: Alembic warns and reverts an arbitrary branch."""
    if _RELATIVE_DOWN.match(revision) and len(current) > 1:
        forms = " or ".join(f"`{head}@{revision}`" for head in sorted(current))
        raise BadRevision(
            f"the database is at {len(current)} heads ({', '.join(sorted(current))}): "
            f"`downgrade {revision}` would pick one arbitrarily; name it: {forms}, "
            "or give a revision id"
        )


async def downgrade(engine: AsyncEngine, revision: str, **options: Unpack[RunOptions]) -> RunResult:
    """Downgrade to `revision` (-N, HEAD@-N, base, a revision id) under the migration lock.

    Raises BadRevision for `-N` while the database is at several heads.
    """

    def action(cfg: Config) -> None:
        refuse_ambiguous_step(current_heads(cfg.attributes["connection"]), revision)
        command.downgrade(cfg, revision)

    return await _locked_run(engine, action, name="downgrade", **options)


async def stamp(engine: AsyncEngine, revision: str, **options: Unpack[RunOptions]) -> RunResult:
    """Record `revision` in alembic_version without running any migration."""
    options.pop("on_step", None)  # nothing runs
    return await _locked_run(
        engine, lambda cfg: command.stamp(cfg, revision), name="stamp", **options
    )
