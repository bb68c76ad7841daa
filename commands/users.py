"""`manage users`: create and manage accounts. Logic lives in app/services/users.py;
shared pieces (options, password reading, rendering) in commands/users_support.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.choices import IfExists
from commands.roles import RoleOption, user_permissions_command
from commands.users_list import list_users_command
from commands.users_support import (
    EmailArgument,
    FullNameOption,
    GeneratePasswordOption,
    read_password,
    render_user,
    run_change,
    show_generated,
)
from manage.options import (
    ForceOption,
    JsonOption,
    PasswordFileOption,
    PasswordStdinOption,
    YesOption,
)
from manage.output import success_line
from manage.runner import prepare, run_session, settings_for

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from app.schemas.user import UserRead
    from manage.passwords import Password

app = typer.Typer(help="Create and manage user accounts.", no_args_is_help=True)


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
        password = read_password(
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

    def render(result: dict[str, Any]) -> None:
        user, outcome = result["user"], result["outcome"]
        if outcome == "created":
            success_line(f"created superuser {user.email} (id {user.id})")
        elif outcome == "updated":
            success_line(f"updated {user.email}: superuser, active, new password")
        else:
            kind = "superuser" if user.is_superuser else "user (not a superuser)"
            success_line(
                f"{kind} {user.email} already exists; left unchanged "
                f"(--if-exists {if_exists.value})"
            )
        if outcome != "unchanged":
            show_generated(password)

    if if_exists == IfExists.skip and email is not None:
        # A rerun (a container's start step, `make run`) changes nothing when the account
        # exists: decide that before asking for or reading a password, so a rerun needs no
        # secret and a password weaker than today's policy cannot fail it.
        from manage.runner import CONTINUE

        address = prepare(ctx, lambda: normalize_email(email), json_output=json_output)

        async def existing(db: AsyncSession) -> Any:
            from app.services import users

            user = await users.get_user_by_email(db, email=address)
            if user is None:
                return CONTINUE
            return {"outcome": "unchanged", "user": UserRead.model_validate(user)}

        if run_session(ctx, existing, json_output=json_output, render=render) is not CONTINUE:
            return

    data, password = prepare(ctx, build, json_output=json_output)

    async def handler(db: AsyncSession) -> dict[str, Any]:
        from app.services import users

        user, outcome = await users.ensure_superuser(
            db, data=data, actor=current_actor(), if_exists=if_exists
        )
        return {"outcome": outcome.value, "user": UserRead.model_validate(user)}

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
        password = read_password(
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

    data, password = prepare(ctx, build, json_output=json_output)

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
        success_line(f"created {kind} {user.email} (id {user.id})")
        show_generated(password)

    run_session(ctx, handler, json_output=json_output, render=render)


# `list` lives in commands/users_list.py (paging and streaming); registered here, in order.
app.command("list")(list_users_command)


@app.command("show")
def show(ctx: typer.Context, email: EmailArgument, json_output: JsonOption = False) -> None:
    """Show one account (exit 3 if there is none). With --json, `data` is the user."""

    async def handler(db: AsyncSession) -> UserRead:
        from app.schemas.user import UserRead
        from app.services import users

        return UserRead.model_validate(await users.get_user(db, email=email))

    run_session(ctx, handler, json_output=json_output, render=render_user)


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

        return read_password(
            ctx,
            email=normalize_email(email),
            stdin=password_stdin,
            file=password_file,
            generate=generate_password,
            json_output=json_output,
        )

    password = prepare(ctx, build, json_output=json_output)

    async def handler(db: AsyncSession) -> UserRead:
        from app.schemas.user import UserRead
        from app.services import users

        user = await users.set_password(
            db, email=email, password=password.value, actor=current_actor()
        )
        return UserRead.model_validate(user)

    def render(user: UserRead) -> None:
        success_line(f"password changed for {user.email}")
        show_generated(password)

    run_session(ctx, handler, json_output=json_output, render=render)


def _users() -> Any:
    from app.services import users

    return users


# The four switches of an account: one shape, so one factory.
_SWITCHES = {
    "activate": (
        "Allow an account to log in again.",
        "activated {email}",
        lambda db, email, actor: _users().set_active(db, email=email, active=True, actor=actor),
    ),
    "deactivate": (
        "Stop an account from logging in (refused for the last active superuser: exit 4).",
        "deactivated {email}",
        lambda db, email, actor: _users().set_active(db, email=email, active=False, actor=actor),
    ),
    "promote": (
        "Make an account a superuser.",
        "{email} is now a superuser",
        lambda db, email, actor: _users().set_superuser(
            db, email=email, superuser=True, actor=actor
        ),
    ),
    "demote": (
        "Take superuser rights away (refused for the last active superuser: exit 4).",
        "{email} is no longer a superuser",
        lambda db, email, actor: _users().set_superuser(
            db, email=email, superuser=False, actor=actor
        ),
    ),
}


def _switch_command(name: str, doc: str, message: str, change: Any) -> None:
    def command(ctx: typer.Context, email: EmailArgument, json_output: JsonOption = False) -> None:
        run_change(
            ctx,
            json_output=json_output,
            message=message,
            change=lambda db, actor: change(db, email, actor),
        )

    command.__doc__ = f"{doc}\n\nWith --json, `data` is the user."
    app.command(name)(command)


for _name, (_doc, _message, _change) in _SWITCHES.items():
    _switch_command(_name, _doc, _message, _change)


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
    from manage.confirm import confirm_destructive

    prepare(
        ctx,
        lambda: confirm_destructive(
            action=f"delete user {email.strip().lower()}",
            yes=yes,
            force=force,
            production=settings_for(ctx).is_production,
            type_to_confirm=email.strip().lower(),
        ),
        json_output=json_output,
    )
    run_change(
        ctx,
        json_output=json_output,
        message="deleted {email}",
        change=lambda db, actor: _users().delete_user(db, email=email, actor=actor),
    )


@app.command("logout-everywhere")
def logout_everywhere(
    ctx: typer.Context, email: EmailArgument, json_output: JsonOption = False
) -> None:
    """End every API token of an account (exit 3 if there is none); audited.

    The account's security stamp is replaced, so every token issued before is refused (401)
    on its next request; logging in again works. `set-password`, `deactivate`, `demote` and
    role changes do the same. With --json, `data` is the user.
    """
    run_change(
        ctx,
        json_output=json_output,
        message="ended every API session of {email}",
        change=lambda db, actor: _users().end_sessions(db, email=email, actor=actor),
    )


# Written with the roles commands (it reads roles); listed last in `manage users --help`.
app.command("permissions")(user_permissions_command)
