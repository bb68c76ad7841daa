"""`manage users`: create and manage accounts. Logic lives in app/services/users.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.choices import IfExists
from commands.roles import RoleOption, user_permissions_command
from manage.options import (
    ForceOption,
    JsonOption,
    PasswordFileOption,
    PasswordStdinOption,
    YesOption,
)
from manage.runner import fail, run_session, settings_for

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from app.models import User
    from app.schemas.user import UserRead
    from manage.passwords import Password

app = typer.Typer(help="Create and manage user accounts.", no_args_is_help=True)
app.command("permissions")(user_permissions_command)

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


def _say(message: str) -> None:
    from manage.output import success_line

    success_line(message)


def _read_password(
    ctx: typer.Context,
    *,
    email: str,
    stdin: bool,
    file: Path | None,
    generate: bool,
    json_output: bool,
) -> Password:
    """The password from the one source given, checked against the policy."""
    from app.errors import AppException, ErrorCode
    from app.security import password_problem
    from manage.passwords import read_password

    if generate and json_output:
        raise AppException(
            422,
            "--generate-password cannot be combined with --json: a password never goes into "
            "JSON output; use --password-file or --password-stdin",
            ErrorCode.INVALID_INPUT,
        )
    min_length = settings_for(ctx).security.password_min_length
    return read_password(
        stdin=stdin,
        file=file,
        generate=generate,
        check=lambda pw: password_problem(pw, min_length=min_length, email=email),
    )


def _show_generated(password: Password) -> None:
    if password.generated:
        _say(f"generated password (shown once; store it now): {password.value}")


def _prepare(ctx: typer.Context, json_output: bool, build: Callable[[], Any]) -> Any:
    """Parse and read input before any database work; report errors the usual way."""
    try:
        return build()
    except (typer.Exit, typer.Abort):
        raise
    except BaseException as exc:  # KeyboardInterrupt at a prompt included: exit 130
        fail(ctx, exc, json_output=json_output)


@app.command("create-superuser")
def create_superuser(
    ctx: typer.Context,
    email: Annotated[
        str | None,
        typer.Option(
            "--email",
            help="Email address (asked on a terminal when omitted).",
            show_default=False,
        ),
    ] = None,
    full_name: FullNameOption = None,
    password_stdin: PasswordStdinOption = False,
    password_file: PasswordFileOption = None,
    generate_password: GeneratePasswordOption = False,
    if_exists: Annotated[
        IfExists,
        typer.Option(
            "--if-exists",
            help="When the email exists: error (exit 4), skip (exit 0, unchanged), or update "
            "(promote, reactivate, set the new password).",
            case_sensitive=False,
        ),
    ] = IfExists.error,
    json_output: JsonOption = False,
) -> None:
    """Create a superuser account.

    On a terminal, anything missing is asked for (the password twice, hidden; a weak one is
    explained and asked again). Without a terminal the password comes from --password-stdin,
    --password-file, --generate-password or $MANAGE_PASSWORD; with none of them it is exit 5
    at once. There is no --password option: argv is visible to every user of the machine.

    Example: manage users create-superuser --email ops@example.com
    --password-file /run/secrets/admin_password --if-exists skip
    """
    from pydantic import SecretStr

    from app.schemas.user import UserCreate, UserRead, normalize_email
    from manage.actor import current_actor
    from manage.passwords import ask, interactive

    def build() -> tuple[UserCreate, Password]:
        name = full_name
        if email is None:
            if not interactive():
                from app.errors import AppException, ErrorCode

                raise AppException(
                    422, "--email is required (no terminal to ask on)", ErrorCode.INVALID_INPUT
                )
            address = normalize_email(ask("Email"))
            name = name or ask("Full name", default="") or None
        else:
            address = normalize_email(email)
        password = _read_password(
            ctx,
            email=address,
            stdin=password_stdin,
            file=password_file,
            generate=generate_password,
            json_output=json_output,
        )
        data = UserCreate(
            email=address, full_name=name, password=SecretStr(password.value), is_superuser=True
        )
        return data, password

    data, password = _prepare(ctx, json_output, build)

    async def handler(db: AsyncSession) -> dict[str, Any]:
        from app.services import users

        user, outcome = await users.ensure_superuser(
            db, data=data, actor=current_actor(), if_exists=if_exists
        )
        return {"outcome": outcome.value, "user": UserRead.model_validate(user)}

    def render(result: dict[str, Any]) -> None:
        user, outcome = result["user"], result["outcome"]
        if outcome == "created":
            _say(f"created superuser {user.email} (id {user.id})")
        elif outcome == "updated":
            _say(f"updated {user.email}: superuser, active, new password")
        else:
            kind = "superuser" if user.is_superuser else "user (not a superuser)"
            _say(f"{kind} {user.email} already exists; left unchanged (--if-exists skip)")
        if outcome != "unchanged":
            _show_generated(password)

    run_session(ctx, handler, json_output=json_output, render=render)


@app.command("create")
def create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option("--email", help="Email address.", show_default=False)],
    full_name: FullNameOption = None,
    superuser: Annotated[bool, typer.Option("--superuser", help="Make it a superuser.")] = False,
    inactive: Annotated[bool, typer.Option("--inactive", help="Create it deactivated.")] = False,
    role: RoleOption = None,
    password_stdin: PasswordStdinOption = False,
    password_file: PasswordFileOption = None,
    generate_password: GeneratePasswordOption = False,
    json_output: JsonOption = False,
) -> None:
    """Create an account (exit 4 if the email exists), optionally with roles.

    The password comes from the same sources as create-superuser. An unknown --role is exit 3
    and no account is created.
    """
    from pydantic import SecretStr

    from app.schemas.user import UserCreate, UserRead, normalize_email
    from manage.actor import current_actor

    def build() -> tuple[UserCreate, Password]:
        address = normalize_email(email)
        password = _read_password(
            ctx,
            email=address,
            stdin=password_stdin,
            file=password_file,
            generate=generate_password,
            json_output=json_output,
        )
        data = UserCreate(
            email=address,
            full_name=full_name,
            password=SecretStr(password.value),
            is_superuser=superuser,
            is_active=not inactive,
        )
        return data, password

    data, password = _prepare(ctx, json_output, build)

    async def handler(db: AsyncSession) -> UserRead:
        from app.services import roles, users

        actor = current_actor()
        user = await users.create_user(db, data=data, actor=actor)
        for name in role or []:
            # In the same transaction: an unknown role (exit 3) leaves no account behind.
            await roles.grant(db, role=name, emails=[user.email], actor=actor)
        return UserRead.model_validate(user)

    def render(user: UserRead) -> None:
        kind = "superuser" if user.is_superuser else "user"
        _say(f"created {kind} {user.email} (id {user.id})")
        _show_generated(password)

    run_session(ctx, handler, json_output=json_output, render=render)


@app.command("list")
def list_users(
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
        typer.Option("--limit", min=1, help="At most this many.", show_default=False),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """List accounts, oldest first.

    With --json, `data` is a list of users: id, email, full_name, is_active, is_superuser,
    roles, created_at, updated_at.
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
    table = Table("id", "email", "full name", "active", "superuser", "roles", "created")
    # An email is what people grep for and copy: never wrap it, whatever the width.
    table.columns[1].no_wrap = True
    table.columns[1].min_width = max(len(user.email) for user in users)
    for user in users:
        table.add_row(
            str(user.id),
            user.email,
            user.full_name or "",
            "yes" if user.is_active else "no",
            "yes" if user.is_superuser else "no",
            ", ".join(user.roles),
            user.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out().print(table)


@app.command("show")
def show(ctx: typer.Context, email: EmailArgument, json_output: JsonOption = False) -> None:
    """Show one account (exit 3 if there is none). With --json, `data` is the user."""

    async def handler(db: AsyncSession) -> UserRead:
        from app.schemas.user import UserRead
        from app.services import users

        return UserRead.model_validate(await users.get_user(db, email=email))

    def render(user: UserRead) -> None:
        from rich.table import Table

        from manage.output import out

        table = Table(show_header=False, box=None)
        for key, value in user.model_dump().items():
            shown = ", ".join(value) if isinstance(value, list) else value
            table.add_row(key, "" if shown is None else str(shown))
        out().print(table)

    run_session(ctx, handler, json_output=json_output, render=render)


@app.command("set-password")
def set_password(
    ctx: typer.Context,
    email: EmailArgument,
    password_stdin: PasswordStdinOption = False,
    password_file: PasswordFileOption = None,
    generate_password: GeneratePasswordOption = False,
    json_output: JsonOption = False,
) -> None:
    """Set an account's password (same sources as create-superuser; the policy applies)."""
    from manage.actor import current_actor

    def build() -> Password:
        from app.schemas.user import normalize_email

        return _read_password(
            ctx,
            email=normalize_email(email),
            stdin=password_stdin,
            file=password_file,
            generate=generate_password,
            json_output=json_output,
        )

    password = _prepare(ctx, json_output, build)

    async def handler(db: AsyncSession) -> UserRead:
        from app.schemas.user import UserRead
        from app.services import users

        user = await users.set_password(
            db, email=email, password=password.value, actor=current_actor()
        )
        return UserRead.model_validate(user)

    def render(user: UserRead) -> None:
        _say(f"password changed for {user.email}")
        _show_generated(password)

    run_session(ctx, handler, json_output=json_output, render=render)


def _change(
    ctx: typer.Context,
    *,
    json_output: bool,
    change: Callable[[AsyncSession, str], Awaitable[User]],
    message: str,
) -> None:
    """Run one single-user change and report it as `message.format(email=...)`."""
    from manage.actor import current_actor

    async def handler(db: AsyncSession) -> UserRead:
        from app.schemas.user import UserRead

        return UserRead.model_validate(await change(db, current_actor()))

    run_session(
        ctx,
        handler,
        json_output=json_output,
        render=lambda user: _say(message.format(email=user.email)),
    )


@app.command("activate")
def activate(ctx: typer.Context, email: EmailArgument, json_output: JsonOption = False) -> None:
    """Allow an account to log in again."""
    from app.services import users

    _change(
        ctx,
        json_output=json_output,
        message="activated {email}",
        change=lambda db, actor: users.set_active(db, email=email, active=True, actor=actor),
    )


@app.command("deactivate")
def deactivate(ctx: typer.Context, email: EmailArgument, json_output: JsonOption = False) -> None:
    """Stop an account from logging in (refused for the last active superuser: exit 4)."""
    from app.services import users

    _change(
        ctx,
        json_output=json_output,
        message="deactivated {email}",
        change=lambda db, actor: users.set_active(db, email=email, active=False, actor=actor),
    )


@app.command("promote")
def promote(ctx: typer.Context, email: EmailArgument, json_output: JsonOption = False) -> None:
    """Make an account a superuser."""
    from app.services import users

    _change(
        ctx,
        json_output=json_output,
        message="{email} is now a superuser",
        change=lambda db, actor: users.set_superuser(db, email=email, superuser=True, actor=actor),
    )


@app.command("demote")
def demote(ctx: typer.Context, email: EmailArgument, json_output: JsonOption = False) -> None:
    """Take superuser rights away (refused for the last active superuser: exit 4)."""
    from app.services import users

    _change(
        ctx,
        json_output=json_output,
        message="{email} is no longer a superuser",
        change=lambda db, actor: users.set_superuser(db, email=email, superuser=False, actor=actor),
    )


@app.command("delete")
def delete(
    ctx: typer.Context,
    email: EmailArgument,
    yes: YesOption = False,
    force: ForceOption = False,
    json_output: JsonOption = False,
) -> None:
    """Delete an account after confirmation (refused for the last active superuser: exit 4).

    Without a terminal, --yes is required; with ENVIRONMENT=production, --yes and (without a
    terminal) --force.
    """
    from app.services import users
    from manage.confirm import confirm_destructive

    _prepare(
        ctx,
        json_output,
        lambda: confirm_destructive(
            action=f"delete user {email.strip().lower()}",
            yes=yes,
            force=force,
            production=settings_for(ctx).is_production,
        ),
    )
    _change(
        ctx,
        json_output=json_output,
        message="deleted {email}",
        change=lambda db, actor: users.delete_user(db, email=email, actor=actor),
    )
