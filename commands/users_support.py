"""What the `users` commands share: option types, password reading, rendering."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from manage.output import success_line
from manage.runner import run_session, settings_for
from manage.tables import KEY, TEXT, timestamp

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from app.models import User
    from app.schemas.user import UserRead
    from manage.passwords import Password

EmailArgument = Annotated[str, typer.Argument(help="The account's email (any letter case).")]
GeneratePasswordOption = Annotated[
    bool,
    typer.Option(
        "--generate-password",
        help="Generate a strong password and print it once (not with --json).",
    ),
]
FullNameOption = Annotated[
    str | None, typer.Option("--full-name", help="Display name.", show_default=False)
]


def read_password(
    ctx: typer.Context,
    *,
    email: str,
    stdin: bool,
    file: Path | None,
    generate: bool,
    json_output: bool,
) -> Password:
    """The password from the one source given, checked against the policy for `email`."""
    from app.errors import AppException, ErrorCode
    from app.security import password_problem
    from manage import passwords

    if generate and json_output:
        raise AppException(
            422,
            "--generate-password cannot be combined with --json: a password never goes into "
            "JSON output; use --password-file or --password-stdin",
            ErrorCode.INVALID_INPUT,
        )
    min_length = settings_for(ctx).security.password_min_length
    return passwords.read_password(
        stdin=stdin,
        file=file,
        generate=generate,
        check=lambda pw: password_problem(pw, min_length=min_length, email=email),
    )


def show_generated(password: Password) -> None:
    if password.generated:
        success_line(f"generated password (shown once; store it now): {password.value}")


def run_change(
    ctx: typer.Context,
    *,
    json_output: bool,
    change: Callable[[AsyncSession, str], Awaitable[User]],
    message: str,
) -> None:
    """Run one single-account change `change(db, actor)`; report `message.format(email=…)`."""
    from manage.actor import current_actor

    async def handler(db: AsyncSession) -> UserRead:
        from app.schemas.user import UserRead

        return UserRead.model_validate(await change(db, current_actor()))

    run_session(
        ctx,
        handler,
        json_output=json_output,
        render=lambda user: success_line(message.format(email=user.email)),
    )


USER_COLUMNS = [
    ("id", KEY),
    ("email", KEY),  # what people grep for and copy: never cut or wrapped
    ("name", TEXT),
    ("active", KEY),
    ("superuser", KEY),
    ("roles", TEXT),
    ("created", KEY),
]


def render_users(users: list[Any], *, more: str | None = None) -> None:
    from manage.output import out
    from manage.tables import data_table

    if not users:
        out().print("no users")
        if more:
            from manage.output import warning_line

            warning_line(more)
        return
    data_table(
        USER_COLUMNS,
        [row_cells(user) for user in users],
        more=more,
        optional=("roles", "name", "created"),
        elsewhere="`manage users show EMAIL` or --json",
    )


def render_user(user: UserRead) -> None:
    from datetime import datetime

    from rich.table import Table

    from manage.output import add_row, out

    table = Table(show_header=False, box=None)
    for key, value in user.model_dump().items():
        if isinstance(value, datetime):
            value = timestamp(value)
        add_row(table, key, ", ".join(value) if isinstance(value, list) else value)
    out().print(table)


def row_cells(user: Any) -> list[str]:
    return [
        str(user.id),
        user.email,
        user.full_name or "",
        "yes" if user.is_active else "no",
        "yes" if user.is_superuser else "no",
        ", ".join(user.roles),
        timestamp(user.created_at),
    ]
