"""Plumbing shared by the `manage migrate` commands: the migration engine, the guard, and
running upgrade/downgrade/stamp (or printing their SQL) through the one runner.

Light to import (typer and the runner only): heavy imports stay inside the functions.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, redirect_stdout, suppress
from typing import TYPE_CHECKING, Any, Literal

import typer

from manage.runner import fail, run_engine, settings_for

if TYPE_CHECKING:
    from manage.runner import Runtime

Action = Literal["upgrade", "downgrade", "stamp"]


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Everything written to stdout meanwhile goes to stderr, at the file-descriptor level too:
    `print()` and `sys.stdout.write` (Python level), `print(file=sys.__stdout__)` and
    `os.write(1, ...)` in a revision (fd 1 points at fd 2's file). Restored afterwards, so the
    runner's one JSON document is all that reaches stdout."""
    for stream in (sys.stdout, sys.__stdout__, sys.stderr):
        if stream is not None:
            stream.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no fd 1 (closed): the Python-level redirect is all there is to do
        saved = None
    if saved is not None:
        os.dup2(2, 1)
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        for stream in (sys.stdout, sys.__stdout__):
            if stream is not None:
                with suppress(OSError, ValueError):
                    stream.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def clean_output(
    handler: Callable[[Runtime], Awaitable[Any]], *, json_output: bool = False
) -> Callable[[Runtime], Awaitable[Any]]:
    """Run `handler` with clean output.

    Python warnings raised meanwhile (Alembic's UserWarnings: a revision present twice, a
    missing renderer, ...) become one `warning: ...` line each on stderr, never Python's raw
    `file:line: UserWarning:` block. With --json, anything written to stdout meanwhile (a
    print() in a revision file, which loading the scripts runs) goes to stderr: the runner
    writes the one JSON document after the handler returns.
    """
    from manage.output import one_line, warning_line

    async def wrapped(runtime: Runtime) -> Any:
        # The process's filters stay (library DeprecationWarnings stay hidden); what would have
        # been printed raw is recorded instead.
        with warnings.catch_warnings(record=True) as caught:
            try:
                if json_output:
                    with stdout_to_stderr():
                        return await handler(runtime)
                return await handler(runtime)
            finally:
                seen: set[str] = set()
                for item in caught:
                    text = one_line(str(item.message))
                    if text not in seen:
                        seen.add(text)
                        warning_line(text)

    return wrapped


def migration_engine(runtime: Runtime, *, runs_migrations: bool = False) -> Any:
    """DB_MIGRATION_URL when set (a direct connection past PgBouncer), else the main engine.

    `runs_migrations`: statements get MIGRATION_COMMAND_TIMEOUT as their client-side deadline
    (asyncpg sets it per connection, so on PostgreSQL that is an engine of its own); reads
    (status, current, drift) keep DB_COMMAND_TIMEOUT.
    """
    from db.engine import create_engine

    settings = runtime.settings.db
    if settings.db_migration_url:
        # A direct connection: none of the PgBouncer workarounds (per-transaction SET LOCAL
        # timeouts would override the MIGRATION_* ones).
        direct = settings.model_copy(update={"db_pgbouncer": False})
        return create_engine(
            direct, url=settings.db_migration_url, pooled=False, migrations=runs_migrations
        )
    if runs_migrations and runtime.engine.dialect.name == "postgresql":
        return create_engine(settings, pooled=False, migrations=True)
    return runtime.engine


def _refuse_pgbouncer(runtime: Runtime, engine: Any) -> None:
    """The migration lock is session-level: transaction pooling would lose it."""
    from manage.errors import UsageError

    settings = runtime.settings.db
    if settings.db_pgbouncer and engine.dialect.name == "postgresql":
        raise UsageError(
            "DB_PGBOUNCER is set: migrations need a direct connection for their session-level "
            "lock; set DB_MIGRATION_URL to the database itself (not PgBouncer)"
        )


async def with_migration_engine(
    runtime: Runtime, body: Any, *, runs_migrations: bool = False
) -> Any:
    engine = migration_engine(runtime, runs_migrations=runs_migrations)
    try:
        return await body(engine)
    finally:
        if engine is not runtime.engine:
            await engine.dispose()


def run_action(
    ctx: typer.Context,
    action: Action,
    revision: str,
    *,
    sql: bool,
    lock_timeout: float,
    json_output: bool,
) -> None:
    from commands import migrate_render as render
    from db.migrations import check_revision_argument

    try:
        revision = check_revision_argument(revision)
    except Exception as exc:
        fail(ctx, exc, json_output=json_output)
        return

    async def offline(engine: Any) -> Any:
        from db import migrations
        from db.migration_sql import offline_sql, range_from

        span = revision
        if ":" not in revision:
            span = range_from(await migrations.current(engine), revision)
        return render.OfflineSql(
            range=span,
            dialect=engine.dialect.name,
            sql=offline_sql(action, span, dialect=engine.dialect.name),
        )

    async def online(engine: Any, runtime: Runtime) -> Any:
        from db import migrations

        if not runtime.settings.db.db_migration_url:  # migrating through the main URL
            _refuse_pgbouncer(runtime, engine)
        result = await getattr(migrations, action)(
            engine,
            revision,
            lock_timeout=lock_timeout,
            on_wait=render.waiting,
            settings=runtime.settings.db,
            on_step=render.step if render.interactive() else None,
        )
        if action == "upgrade":
            from commands.migrate_backfill import announce

            await announce(engine, result.applied)  # backfills the applied revisions declared
        return result

    async def handler(runtime: Runtime) -> Any:
        if sql:
            return await with_migration_engine(runtime, offline)
        return await with_migration_engine(
            runtime, lambda engine: online(engine, runtime), runs_migrations=True
        )

    run_engine(
        ctx,
        clean_output(handler, json_output=json_output),
        json_output=json_output,
        render=render.offline_sql if sql else render.run_renderer(action),
    )


def guard(ctx: typer.Context, action: str, *, yes: bool, force: bool, json_output: bool) -> None:
    """Downgrade and stamp confirm first; production needs --yes and the database name."""
    from manage.confirm import confirm_destructive

    try:
        from sqlalchemy.engine import make_url

        settings = settings_for(ctx)
        url = make_url(settings.db.db_migration_url or settings.db.database_url)
        name = url.database or "(in-memory)"
        if url.get_backend_name() == "sqlite":
            name = name.replace("\\", "/").rsplit("/", 1)[-1]
        confirm_destructive(
            action=f"{action} on database {name}",
            yes=yes,
            production=settings.is_production,
            force=force,
            type_to_confirm=name,
        )
    except Exception as exc:
        fail(ctx, exc, json_output=json_output)
