"""`manage migrate`: run and inspect Alembic migrations with the runner's own connection.

Heavy imports (SQLAlchemy, Alembic) live inside the command bodies: `manage migrate --help`
imports neither. Rendering lives in commands/migrate_render.py, shared plumbing in
commands/migrate_support.py. docs/migrations.md documents
every command, its exit codes and its JSON shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from commands.db_init import MAX_WAIT_SECONDS
from commands.migrate_backfill import backfill_command, show_owed
from commands.migrate_review import review_command, review_written
from commands.migrate_support import (
    clean_output,
    guard,
    run_action,
    with_migration_engine,
)
from manage.options import ForceOption, JsonOption, YesOption
from manage.runner import run_engine

if TYPE_CHECKING:
    from manage.runner import Runtime

app = typer.Typer(help="Run and inspect database migrations.", no_args_is_help=True)

SqlOption = Annotated[
    bool,
    typer.Option(
        "--sql",
        help="Print the SQL instead of running it (offline; nothing changes). Starts from the "
        "database's current revision unless REVISION is a FROM:TO range.",
    ),
]
LockTimeoutOption = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        min=0,
        max=MAX_WAIT_SECONDS,
        help="Seconds (0-86400) to wait for the migration lock held by another upgrade, "
        "downgrade or "
        "stamp; then exit 6 naming the holder.",
    ),
]


@app.command("upgrade")
def upgrade(
    ctx: typer.Context,
    revision: Annotated[
        str,
        typer.Argument(help="Target: head (default), a revision id, +N, or BRANCH@head."),
    ] = "head",
    sql: SqlOption = False,
    lock_timeout: LockTimeoutOption = 60.0,
    json_output: JsonOption = False,
) -> None:
    """Upgrade the database to REVISION (default: head), holding the migration lock.

    With --json, `data` is {"before": [...], "after": [...], "applied": [...], "reverted": []}
    (revision ids); with --sql, {"range", "dialect", "sql"}.
    """
    run_action(
        ctx, "upgrade", revision, sql=sql, lock_timeout=lock_timeout, json_output=json_output
    )


# ignore_unknown_options: `downgrade -1` reads as a revision, not as an unknown option -1.
@app.command(
    "downgrade",
    context_settings={"ignore_unknown_options": True},
)
def downgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target: -N, base, or a revision id.")],
    sql: SqlOption = False,
    lock_timeout: LockTimeoutOption = 60.0,
    yes: YesOption = False,
    force: ForceOption = False,
    json_output: JsonOption = False,
) -> None:
    """Downgrade the database to REVISION, holding the migration lock. Asks first.

    With --json, `data` is {"before", "after", "applied": [], "reverted": [...]}.
    """
    if not sql:
        guard(ctx, f"downgrade to {revision}", yes=yes, force=force, json_output=json_output)
    run_action(
        ctx, "downgrade", revision, sql=sql, lock_timeout=lock_timeout, json_output=json_output
    )


@app.command("stamp")
def stamp(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Revision to record: head, base, an id.")],
    sql: SqlOption = False,
    lock_timeout: LockTimeoutOption = 60.0,
    yes: YesOption = False,
    force: ForceOption = False,
    json_output: JsonOption = False,
) -> None:
    """Record REVISION as applied without running any migration. Asks first.

    With --json, `data` is {"before", "after", "applied", "reverted"}: the revisions now
    recorded as applied or no longer applied (none of them ran).
    """
    if not sql:
        guard(ctx, f"stamp revision {revision}", yes=yes, force=force, json_output=json_output)
    run_action(ctx, "stamp", revision, sql=sql, lock_timeout=lock_timeout, json_output=json_output)


@app.command("status")
def status(
    ctx: typer.Context,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit 1 when any revision is pending or was edited after it was applied "
            "(deploy gate).",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Show every revision, oldest first: applied or pending, and which are heads.

    With --json, `data` is {"current": [...], "heads": [...], "revisions": [{"revision",
    "down_revision", "branch_labels", "message", "created", "is_head", "applied",
    "is_current", "edited", "file"}]}; "edited" is null when no checksum was recorded.
    """
    from commands import migrate_render as render

    async def handler(runtime: Runtime) -> Any:
        from app.errors import ErrorCode
        from db import migrations
        from db.backfill.discovery import with_owed
        from manage.errors import CheckFailed

        result = await with_migration_engine(runtime, migrations.status)
        # Backfills still owed (docs/migrations.md, "Backfills"): shown, never a failure.
        result = await with_migration_engine(runtime, lambda e: with_owed(e, result))
        if check and result.edited:
            if not json_output:
                render.status(result, warn_edited=False)
            raise CheckFailed(
                render.edited_reason(result.edited),
                error_code=ErrorCode.REVISION_EDITED,
                data=result,
            )
        if check and result.pending:
            if not json_output:
                render.status(result)
            count = len(result.pending)
            raise CheckFailed(
                f"{count} pending revision{'s' if count != 1 else ''}; "
                "run `manage migrate upgrade`",
                error_code=ErrorCode.PENDING_MIGRATIONS,
                data=result,
            )
        return result

    def show(result: Any) -> None:
        render.status(result)
        show_owed(result.backfills)

    run_engine(
        ctx,
        clean_output(handler, json_output=json_output),
        json_output=json_output,
        render=show,
    )


@app.command("current")
def current(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Show the revision(s) the database is at.

    With --json, `data` is {"current": [...], "heads": [...], "at_head": bool}.
    """
    from commands import migrate_render as render

    async def handler(runtime: Runtime) -> Any:
        from db import migrations

        state = await with_migration_engine(runtime, migrations.current)
        heads = [info.revision for info in migrations.heads()]
        return {"current": state, "heads": heads, "at_head": sorted(state) == sorted(heads)}

    run_engine(
        ctx,
        clean_output(handler, json_output=json_output),
        json_output=json_output,
        render=render.current,
    )


@app.command("heads")
def heads(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Show the head revision(s) of the migration scripts (no database needed).

    With --json, `data` is a list of {"revision", "down_revision", "branch_labels",
    "message", "created", "is_head"}.
    """
    from commands import migrate_render as render

    async def handler(_runtime: Runtime) -> Any:
        from db import migrations

        return migrations.heads()

    run_engine(
        ctx,
        clean_output(handler, json_output=json_output),
        json_output=json_output,
        render=render.revisions,
    )


@app.command("history")
def history(
    ctx: typer.Context,
    revision_range: Annotated[
        str | None,
        typer.Option("--rev-range", "-r", help="START:END (either side may be empty)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """List revisions, newest first (no database needed).

    With --json, `data` is a list shaped like `heads`.
    """
    from commands import migrate_render as render

    async def handler(_runtime: Runtime) -> Any:
        from db import migrations

        if revision_range is None:
            return migrations.history(None)
        return migrations.history(migrations.check_revision_argument(revision_range, what="range"))

    run_engine(
        ctx,
        clean_output(handler, json_output=json_output),
        json_output=json_output,
        render=render.revisions,
    )


@app.command("make")
def make(
    ctx: typer.Context,
    message: Annotated[
        str, typer.Option("--message", "-m", help="What the revision does (names the file).")
    ],
    empty: Annotated[
        bool, typer.Option("--empty", help="Write an empty revision; no database needed.")
    ] = False,
    backfill: Annotated[
        str | None,
        typer.Option(
            "--backfill",
            metavar="TABLE",
            help="With --empty: scaffold a backfill declared on TABLE (docs/migrations.md).",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Write a new revision autogenerated from the models against the current database.

    The database must be at head (exit 5 otherwise). No difference: no file (exit 0).
    With --json, `data` is {"path", "revision", "message", "operations": [...]}.
    Review every generated file: autogenerate misses renames and enum label changes.
    """
    from commands import migrate_render as render

    async def handler(runtime: Runtime) -> Any:
        from db import migration_make
        from db.backfill.scaffold import add_backfill, check_table
        from manage.errors import UsageError

        if backfill is not None:
            check_table(backfill)
        if backfill is not None and not empty:
            raise UsageError("--backfill needs --empty (a revision that declares a backfill)")
        if empty:
            made = migration_make.make_empty(message)
            if backfill is not None and made.path and made.revision:
                add_backfill(made.path, table=backfill, revision=made.revision)
        else:
            made = await with_migration_engine(
                runtime, lambda engine: migration_make.make_autogenerated(engine, message)
            )
        review_written(made.path)  # the review's findings on stderr; the exit code stays
        return made

    run_engine(
        ctx,
        clean_output(handler, json_output=json_output),
        json_output=json_output,
        render=render.made,
    )


@app.command("check")
def check(
    ctx: typer.Context,
    sql: Annotated[
        bool, typer.Option("--sql", help="Also print the SQL that would remove the drift.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Compare the models with the database: exit 1 and list each difference on drift.

    With --json, `data` is {"differences": [{"operation", "table", "name", "description"}],
    "current": [...], "heads": [...], "sql": str | null}; `success` is false on drift.
    """
    from commands import migrate_render as render

    async def handler(runtime: Runtime) -> Any:
        from app.errors import ErrorCode
        from db import drift
        from manage.errors import CheckFailed

        report = await with_migration_engine(
            runtime, lambda engine: drift.drift(engine, with_sql=sql)
        )
        if report.clean:
            return report
        if not json_output:
            render.drift(report)
        count = len(report.differences)
        raise CheckFailed(
            f"drift: {count} difference{'s' if count != 1 else ''} between the models and "
            "the database",
            error_code=ErrorCode.SCHEMA_DRIFT,
            data=report,
        )

    run_engine(
        ctx,
        clean_output(handler, json_output=json_output),
        json_output=json_output,
        render=render.drift,
    )


@app.command("sql")
def sql_range(
    ctx: typer.Context,
    revision_range: Annotated[
        str, typer.Argument(help="FROM:TO (e.g. base:head, ab12:+2), or TO (from base).")
    ],
    dialect: Annotated[
        str | None,
        typer.Option(
            "--dialect", help="postgresql or sqlite (default: the configured database's)."
        ),
    ] = None,
    down: Annotated[
        bool, typer.Option("--downgrade", help="Render the downgrade of FROM:TO instead.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Print the offline SQL for a range of revisions (no database connection).

    With --json, `data` is {"range", "dialect", "sql"}.
    """
    from commands import migrate_render as render

    async def handler(runtime: Runtime) -> Any:
        from sqlalchemy.engine import make_url

        from db.migration_sql import offline_sql
        from db.migrations import check_revision_argument

        span = check_revision_argument(revision_range, what="range")
        settings = runtime.settings.db
        name = (
            dialect
            or make_url(settings.db_migration_url or settings.database_url).get_backend_name()
        )
        action = "downgrade" if down else "upgrade"
        return render.OfflineSql(
            range=span, dialect=name, sql=offline_sql(action, span, dialect=name)
        )

    run_engine(
        ctx,
        clean_output(handler, json_output=json_output),
        json_output=json_output,
        render=render.offline_sql,
    )


# `migrate backfill`: commands/migrate_backfill.py, docs/migrations.md ("Backfills").
app.command("backfill")(backfill_command)

# `migrate review`: commands/migrate_review.py, docs/review.md.
app.command("review")(review_command)
