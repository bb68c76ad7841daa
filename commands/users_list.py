"""`manage users list`: one page of accounts (50 by default), or every one streamed with --all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from commands.users_support import render_users, row_cells
from manage.options import JsonOption
from manage.runner import run_session

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from app.schemas.user import UserRead

DEFAULT_LIST_LIMIT = 50  # like `audit list`
MAX_LIST_LIMIT = 10_000  # more: --all streams
MAX_OFFSET = 2**31 - 1  # users.id is a 32-bit INTEGER


def list_users_command(
    ctx: typer.Context,
    superusers: Annotated[bool, typer.Option("--superusers", help="Only superusers.")] = False,
    active: Annotated[
        bool | None,
        typer.Option(
            "--active/--inactive",
            help="Only active (or inactive) accounts.",
            show_default=False,
        ),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option("--search", help="Substring of the email or name.", show_default=False),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            max=MAX_LIST_LIMIT,
            help=f"At most this many, 1-{MAX_LIST_LIMIT} (default {DEFAULT_LIST_LIMIT}; "
            "--all for every account).",
            show_default=False,
        ),
    ] = None,
    offset: Annotated[
        int,
        typer.Option(
            "--offset",
            min=0,
            max=MAX_OFFSET,
            help=f"Skip this many first (0-{MAX_OFFSET}).",
            show_default=False,
        ),
    ] = 0,
    every: Annotated[
        bool,
        typer.Option(
            "--all", help="Every matching account, streamed in batches (not with --limit/--offset)."
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """List accounts, oldest first: 50 by default (--limit, --offset), or --all.

    When more accounts match than are shown, stderr says how many. --all streams every
    account in batches, so memory stays flat on any table size; people get one tab-separated
    line per account (header first). With --json, `data` is a list of users: id, email,
    full_name, is_active, is_superuser, roles, created_at, updated_at (with --all the document
    is written as it streams; on a failure part-way stdout is incomplete and the exit code
    says so).
    """
    from app.schemas.user import UserRead

    filters = {"superusers_only": superusers, "active": active, "search": search}
    if every:
        if limit is not None or offset:
            raise typer.BadParameter("--all cannot be combined with --limit or --offset")
        run_session(ctx, stream_users(filters, json_output=json_output))
        return
    page_size = limit or DEFAULT_LIST_LIMIT
    more: list[str] = []

    async def handler(db: AsyncSession) -> list[UserRead]:
        from app.services import users

        found = await users.list_users(db, **filters, limit=page_size, offset=offset)
        if not found and offset:  # past the end: say so, not a bare "no users"
            total = await users.count_users(db, **filters)
            if total:
                more.append(f"--offset {offset} is past the end: {total} matching in all")
                if json_output:
                    from manage.output import warning_line

                    warning_line(more[0])
        if len(found) == page_size:
            total = await users.count_users(db, **filters)
            if total > offset + page_size:
                more.append(more_line(shown=len(found), offset=offset, total=total))
                if json_output:  # people get it as the table's footer
                    from manage.output import warning_line

                    warning_line(more[0])
        return [UserRead.model_validate(user) for user in found]

    def render(found: list[UserRead]) -> None:
        render_users(found, more=more[0] if more else None)

    run_session(ctx, handler, json_output=json_output, render=render)


def more_line(*, shown: int, offset: int, total: int) -> str:
    """The footer of a page that is not the last: "10 more (accounts 1-50 of 60 shown)..."."""
    rest = total - offset - shown
    return (
        f"{rest} more (accounts {offset + 1}-{offset + shown} of {total} shown); use "
        f"--offset {offset + shown} for the next page, --limit or --all"
    )


STREAM_BATCH = 500
_STREAM_COLUMNS = ("id", "email", "name", "active", "superuser", "roles", "created")


def stream_users(
    filters: dict[str, Any], *, json_output: bool
) -> Callable[[AsyncSession], Awaitable[int]]:
    """A handler that writes every matching user to stdout as it reads them, STREAM_BATCH at a
    time by id (keyset paging), forgetting each batch before the next; returns the count."""

    async def handler(db: AsyncSession) -> int:
        import json
        import sys

        from app.schemas.user import UserRead
        from app.services import users
        from manage.output import one_line

        write = sys.stdout.write
        write('{"success": true, "data": [' if json_output else "\t".join(_STREAM_COLUMNS))
        count, after = 0, None
        while batch := await users.list_users(db, **filters, limit=STREAM_BATCH, after_id=after):
            for user in (UserRead.model_validate(u) for u in batch):
                if json_output:
                    document = json.dumps(user.model_dump(mode="json"))
                    write(("" if count == 0 else ", ") + document)
                else:
                    write("\n" + "\t".join(one_line(cell) for cell in row_cells(user)))
                count += 1
            after = batch[-1].id
            db.expunge_all()
            sys.stdout.flush()
        write('], "message": null, "error_code": null}\n' if json_output else "\n")
        sys.stdout.flush()
        return count

    return handler
