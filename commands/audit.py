"""`manage audit`: read the audit log (every mutation writes one row)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from manage.options import JsonOption
from manage.runner import run_session

MAX_AUDIT_LIMIT = 10_000

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

app = typer.Typer(help="Read the audit log of changes.", no_args_is_help=True)


@app.command("list")
def list_entries(
    ctx: typer.Context,
    action: Annotated[
        str | None,
        typer.Option("--action", help="Only this action, e.g. user.create.", show_default=False),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="Only this target, e.g. an email.", show_default=False),
    ] = None,
    limit: Annotated[
        int,
        typer.Option("--limit", min=1, max=MAX_AUDIT_LIMIT, help="At most this many (1-10000)."),
    ] = 50,
    json_output: JsonOption = False,
) -> None:
    """List audit entries, newest first.

    With --json, `data` is a list of {"id", "at", "actor", "action", "target", "details"}.
    """

    async def handler(db: AsyncSession) -> list[dict[str, Any]]:
        from app.schemas.audit import AuditRead
        from app.services import audit

        entries = await audit.list_entries(db, action=action, target=target, limit=limit)
        return [AuditRead.model_validate(entry) for entry in entries]

    run_session(ctx, handler, json_output=json_output, render=_render)


def _render(entries: list[Any]) -> None:
    import json

    from rich.table import Table

    from manage.output import add_row, out

    if not entries:
        out().print("no audit entries")
        return
    table = Table("at", "actor", "action", "target", "details")
    for entry in entries:
        add_row(
            table,
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor,
            entry.action,
            entry.target,
            json.dumps(entry.details, sort_keys=True),
        )
    out().print(table)
