"""`manage migrate`: run and inspect Alembic migrations with the runner's own connection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from manage.options import JsonOption
from manage.runner import run_engine

if TYPE_CHECKING:
    from manage.runner import Runtime

app = typer.Typer(help="Run and inspect database migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    ctx: typer.Context,
    revision: Annotated[
        str, typer.Argument(help="Target revision: head (default), a revision id, +N.")
    ] = "head",
    json_output: JsonOption = False,
) -> None:
    """Upgrade the database to REVISION (default: head).

    With --json, `data` is {"before": [...], "after": [...], "applied": [...]} (revision ids).
    """

    async def handler(runtime: Runtime) -> Any:
        from db import migrations

        engine = _migration_engine(runtime)
        try:
            return await migrations.upgrade(engine, revision)
        finally:
            if engine is not runtime.engine:
                await engine.dispose()

    run_engine(ctx, handler, json_output=json_output, render=_render_upgrade)


def _migration_engine(runtime: Runtime) -> Any:
    """DB_MIGRATION_URL when set (a direct connection past PgBouncer), else the main engine."""
    from db.engine import create_engine

    settings = runtime.settings.db
    if settings.db_migration_url:
        return create_engine(settings, url=settings.db_migration_url, pooled=False)
    return runtime.engine


def _render_upgrade(result: Any) -> None:
    from manage.output import success_line

    target = ", ".join(result.after) or "base"
    if not result.applied:
        success_line(f"already at {target}; nothing to do")
        return
    count = len(result.applied)
    success_line(f"applied {count} revision{'s' if count != 1 else ''}; now at {target}")


@app.command("status")
def status(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Show every revision, oldest first: applied or pending, and which are heads.

    With --json, `data` is {"current": [...], "heads": [...], "revisions": [{"revision",
    "down_revision", "message", "created", "applied", "is_head", "is_current"}]}.
    """

    async def handler(runtime: Runtime) -> Any:
        from db import migrations

        return await migrations.status(_migration_engine(runtime))

    run_engine(ctx, handler, json_output=json_output, render=_render_status)


def _render_status(result: Any) -> None:
    from rich.table import Table

    from manage.output import out

    table = Table("revision", "created", "message", "state")
    for rev in result.revisions:
        state = "applied" if rev.applied else "pending"
        if rev.is_head:
            state += " (head)"
        if rev.is_current:
            state += " (current)"
        table.add_row(rev.revision, rev.created or "", rev.message, state)
    out().print(table)
    pending = len(result.pending)
    out().print(
        "up to date" if pending == 0 else f"{pending} pending; run `manage migrate upgrade`"
    )
