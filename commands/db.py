"""`manage db`: database readiness."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from commands.db_init import MAX_WAIT_SECONDS, init_command
from manage.options import JsonOption, YesOption
from manage.output import success_line
from manage.runner import run_engine

if TYPE_CHECKING:
    from manage.runner import Runtime

app = typer.Typer(help="Prepare, check and open the database.", no_args_is_help=True)
app.command("init")(init_command)


@app.command("check")
def check(
    ctx: typer.Context,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            max=MAX_WAIT_SECONDS,
            help="Keep checking for up to this many seconds (0-86400) until ready (e.g. "
            "while the database starts or another pod migrates).",
        ),
    ] = 0,
    json_output: JsonOption = False,
) -> None:
    """Check the database is ready: reachable, one migration head, at head, a superuser.

    Exit 0 when ready, 1 when not ready (each reason is listed), 6 when unreachable. Usable as
    a container healthcheck or a deploy gate. With --json, `data` is {"ready", "reachable",
    "current", "heads", "pending", "superuser_exists", "problems", "backfills"}; "backfills"
    lists the backfills still owed (shown, never a reason to be unready).
    """

    async def handler(runtime: Runtime) -> dict[str, Any]:
        from app.errors import ErrorCode
        from app.services import readiness
        from manage.errors import CheckFailed
        from manage.retry import until_deadline

        report = await until_deadline(
            lambda: readiness.check(runtime.engine),
            seconds=wait,
            done=lambda r: r.ready,
            min_attempt=runtime.settings.db.db_connect_timeout,
        )
        data = {"ready": report.ready, **_fields(report)}
        if not report.ready:
            raise CheckFailed(
                "not ready: " + "; ".join(report.problems),
                error_code=ErrorCode.NOT_READY,
                data=data,
            )
        return data

    run_engine(
        ctx,
        handler,
        json_output=json_output,
        render=_ready,
    )


def _ready(data: dict[str, Any]) -> None:
    from commands.migrate_backfill import show_owed

    success_line(f"ready: database at head {', '.join(data['heads'])}")
    show_owed(data["backfills"])  # owed backfills do not make the database unready


@app.command("shell", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def shell(ctx: typer.Context) -> None:
    """Open the database's own client: psql for PostgreSQL, sqlite3 for SQLite.

    Arguments after `--` go to the client. The password is passed in the client's environment
    (PGPASSWORD), never on its command line.
    """
    import os
    import shutil

    from app.errors import AppException, ErrorCode
    from db.client import client_command
    from manage.runner import fail, settings_for

    try:
        command = client_command(settings_for(ctx).db.database_url, ctx.args)
        program = shutil.which(command.argv[0])
        if program is None:
            raise AppException(
                404,
                f"{command.argv[0]} is not installed or not on PATH "
                f"(install the {'postgresql-client' if command.argv[0] == 'psql' else 'sqlite3'}"
                " package)",
                ErrorCode.NOT_FOUND,
            )
    except Exception as exc:
        fail(ctx, exc)
        return
    # Replace this process: the client owns the terminal, signals and exit code from here.
    # Only what a client needs: no MANAGE_PASSWORD, SECRET_KEY, DATABASE_URL, ...
    os.execve(program, command.argv, command.environment(os.environ))


@app.command("reset")
def reset(
    ctx: typer.Context,
    yes: YesOption = False,
    json_output: JsonOption = False,
) -> None:
    """Drop every table and migrate to head: a clean development database.

    Asks first (--yes skips; without a terminal --yes is required). Always refused with
    ENVIRONMENT=production (exit 7). With --json, `data` is {"dropped": [...], "applied":
    [...]}.
    """
    from db.engine import describe_url
    from manage.confirm import confirm_destructive
    from manage.runner import fail, settings_for

    try:
        settings = settings_for(ctx)
        confirm_destructive(
            action=f"drop every table in {describe_url(settings.db.database_url)}",
            yes=yes,
            production=settings.is_production,
            never_in_production=True,
        )
    except Exception as exc:
        fail(ctx, exc, json_output=json_output)
        return

    async def handler(runtime: Runtime) -> dict[str, Any]:
        from commands.migrate_support import with_migration_engine
        from db import migrations
        from db.reset import drop_everything

        async def body(engine: Any) -> dict[str, Any]:
            # DB_MIGRATION_URL when set: past PgBouncer, with the MIGRATION_* timeouts.
            dropped = await drop_everything(engine)
            result = await migrations.upgrade(engine, "head", settings=runtime.settings.db)
            return {"dropped": dropped, "applied": result.applied}

        return await with_migration_engine(runtime, body, runs_migrations=True)

    run_engine(
        ctx,
        handler,
        json_output=json_output,
        render=lambda data: success_line(
            f"dropped {len(data['dropped'])} tables; applied {len(data['applied'])} "
            "revisions; the database is empty and at head"
        ),
    )


def _fields(report: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(report)
