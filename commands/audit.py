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
    """List audit entries, newest first (50 unless --limit).

    The details are one line, cut to fit the terminal; --json has them in full. With --json,
    `data` is a list of {"id", "at", "actor", "action", "target", "details"}.
    """

    hidden = 0

    async def handler(db: AsyncSession) -> list[dict[str, Any]]:
        from app.schemas.audit import AuditRead
        from app.services import audit

        nonlocal hidden
        entries = await audit.list_entries(db, action=action, target=target, limit=limit)
        if len(entries) == limit:
            hidden = await audit.count_entries(db, action=action, target=target) - limit
            if hidden > 0 and json_output:  # as users list does: people get it as a footer
                from manage.output import warning_line

                warning_line(_more_line(hidden))
        return [AuditRead.model_validate(entry) for entry in entries]

    def render(entries: list[Any]) -> None:
        _render(entries, more=_more_line(hidden) if hidden > 0 else None)

    run_session(ctx, handler, json_output=json_output, render=render)


def _more_line(hidden: int) -> str:
    return f"{hidden} more; use --limit (up to {MAX_AUDIT_LIMIT}), --action or --target"


def _render(entries: list[Any], *, more: str | None) -> None:
    from manage.output import out
    from manage.tables import KEY, LINE, TEXT, data_table, one_line_json, timestamp

    if not entries:
        out().print("no audit entries")
        return
    columns = [("at", KEY), ("actor", TEXT), ("action", KEY), ("target", KEY), ("details", LINE)]
    rows = [
        [timestamp(e.at), e.actor, e.action, e.target, one_line_json(e.details)] for e in entries
    ]
    data_table(columns, rows, more=more)
