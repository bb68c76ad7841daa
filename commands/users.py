"""`manage users`: create and list accounts. Logic lives in app/services/users.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from manage.options import JsonOption, PasswordFileOption, PasswordStdinOption
from manage.runner import fail, run_session, settings_for

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

app = typer.Typer(help="Create and manage user accounts.", no_args_is_help=True)


@app.command("create-superuser")
def create_superuser(
    ctx: typer.Context,
    email: Annotated[
        str | None,
        typer.Option(
            "--email", help="Email address (asked on a terminal when omitted).", show_default=False
        ),
    ] = None,
    full_name: Annotated[
        str | None, typer.Option("--full-name", help="Display name.", show_default=False)
    ] = None,
    password_stdin: PasswordStdinOption = False,
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create a superuser account.

    The password is read from --password-stdin, --password-file or $MANAGE_PASSWORD, or asked
    twice on a terminal; there is no --password option, because argv is visible to every user
    of the machine. The password policy applies. An existing email (in any letter case) is
    exit 4 and changes nothing.

    Example: printf '%s\\n' "$PW" | manage users create-superuser --email ops@example.com
    --password-stdin
    """
    from pydantic import SecretStr

    from app.schemas.user import UserCreate, UserRead, normalize_email
    from app.security import password_problem
    from manage.actor import current_actor
    from manage.passwords import read_password

    try:
        address = normalize_email(email if email is not None else _ask_email())
        min_length = settings_for(ctx).security.password_min_length
        password = read_password(
            stdin=password_stdin,
            file=password_file,
            check=lambda pw: password_problem(pw, min_length=min_length, email=address),
        )
        data = UserCreate(
            email=address, full_name=full_name, password=SecretStr(password), is_superuser=True
        )
    except Exception as exc:
        fail(ctx, exc, json_output=json_output)
        return

    async def handler(db: AsyncSession) -> UserRead:
        from app.services import users

        user = await users.create_user(db, data=data, actor=current_actor())
        return UserRead.model_validate(user)

    run_session(
        ctx,
        handler,
        json_output=json_output,
        render=lambda user: _say(f"created superuser {user.email} (id {user.id})"),
    )


def _ask_email() -> str:
    import sys

    from app.errors import AppException, ErrorCode

    if sys.stdin is None or not sys.stdin.isatty():
        raise AppException(
            422, "--email is required (no terminal to ask on)", ErrorCode.INVALID_INPUT
        )
    return typer.prompt("Email")


@app.command("list")
def list_users(
    ctx: typer.Context,
    superusers: Annotated[bool, typer.Option("--superusers", help="Only superusers.")] = False,
    active: Annotated[
        bool | None,
        typer.Option(
            "--active/--inactive", help="Only active (or inactive) accounts.", show_default=False
        ),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option("--search", help="Substring of the email or name.", show_default=False),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many.", show_default=False)
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """List accounts, oldest first.

    With --json, `data` is a list of users: id, email, full_name, is_active, is_superuser,
    created_at, updated_at.
    """
    from app.schemas.user import UserRead

    async def handler(db: AsyncSession) -> list[UserRead]:
        from app.services import users

        found = await users.list_users(
            db, superusers_only=superusers, active=active, search=search, limit=limit
        )
        return [UserRead.model_validate(user) for user in found]

    run_session(ctx, handler, json_output=json_output, render=_render_users)


def _render_users(users: list[Any]) -> None:
    from rich.table import Table

    from manage.output import out

    if not users:
        out().print("no users")
        return
    table = Table("id", "email", "full name", "active", "superuser", "created")
    for user in users:
        table.add_row(
            str(user.id),
            user.email,
            user.full_name or "",
            "yes" if user.is_active else "no",
            "yes" if user.is_superuser else "no",
            user.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out().print(table)


def _say(message: str) -> None:
    from manage.output import success_line

    success_line(message)
