"""`manage seed fake MODEL`: fake rows for any table model (users keep their own path)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from commands import seed_render as views
from manage.options import (
    ForceOption,
    JsonOption,
    PasswordFileOption,
    PasswordStdinOption,
    YesOption,
)
from manage.runner import prepare, run_session, settings_for

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from app.schemas.seed import FakeRowsResult, FakeUsersResult

USER_MODELS = ("users", "User")


def fake(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Argument(help="The model: class or table name (users, Item, items, ...)."),
    ],
    count: Annotated[
        int,
        typer.Option(
            "--count", "-n", min=1, max=10_000_000, help="How many rows to create (1-10000000)."
        ),
    ],
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            min=0,
            max=2**63 - 1,
            help="Same seed, same rows (a rerun skips them all); 0 to 2**63-1.",
            show_default=False,
        ),
    ] = None,
    factory: Annotated[
        Path | None,
        typer.Option(
            "--factory",
            help="Per-column overrides: a YAML file (title: sentence, status: [a, b]) or a "
            "Python file (.py) defining columns(faker); see docs/seeds.md.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    role: Annotated[
        str | None,
        typer.Option("--role", help="users: grant this role to each new user.", show_default=False),
    ] = None,
    password_stdin: PasswordStdinOption = False,
    password_file: PasswordFileOption = None,
    yes: YesOption = False,
    force: ForceOption = False,
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", min=1, max=100_000, hidden=True, help="Rows per batch."),
    ] = 10_000,
    json_output: JsonOption = False,
) -> None:
    """Create COUNT fake rows of MODEL, fast (COPY on PostgreSQL), in one transaction.

    Values follow the model's columns: types, lengths, nullability, enum values; unique
    columns get unique values and foreign keys point at existing parent rows. --factory
    overrides columns (a YAML file, or a .py file whose columns(faker) returns the entries,
    callables (rng, index) -> value included). Rows a unique constraint turns away are
    skipped and counted. A broken factory file is exit 5 naming file:line; a missing one exit 3.

    users: the rows share one password from --password-stdin, --password-file or
    $MANAGE_PASSWORD (hashed once); --role grants a role to each new user.

    Ctrl-C writes nothing (exit 130). A progress bar of rows written shows on a terminal.
    Refused with ENVIRONMENT=production unless --yes (and typing 'fake MODEL' on a
    terminal; without one, --force).
    """
    is_users = model in USER_MODELS
    if not is_users:
        for given, option in (
            (role, "--role"),
            (password_stdin or None, "--password-stdin"),
            (password_file, "--password-file"),
        ):
            if given is not None:
                raise typer.BadParameter("only for users", param_hint=option)
    elif factory is not None:
        raise typer.BadParameter("users take no factory", param_hint="--factory")

    def build() -> Any:
        from manage.confirm import confirm_destructive

        settings = settings_for(ctx)
        what = "users" if is_users else model
        if settings.is_production:
            confirm_destructive(
                action=f"create {count} fake {what}",
                yes=yes,
                production=True,
                force=force,
                type_to_confirm=f"fake {what}",
            )
        if not is_users:
            return _model_named(model)
        from pydantic import SecretStr

        from app.security import password_problem
        from app.services.fake_users import hash_in_background
        from manage.passwords import read_password

        min_length = settings.security.password_min_length
        password = read_password(
            stdin=password_stdin,
            file=password_file,
            check=lambda pw: password_problem(pw, min_length=min_length),
        )
        # Hashed while the session opens and the first rows are generated, not after.
        return hash_in_background(SecretStr(password.value))

    prepared = prepare(ctx, build, json_output=json_output)
    label = "users" if is_users else prepared.__tablename__

    async def handler(db: AsyncSession) -> FakeUsersResult | FakeRowsResult:
        from manage.actor import current_actor

        with views.progress_bar(count, enabled=not json_output, label=label) as advance:
            if not is_users:
                from app.services.fake_models import create_fake_rows

                return await create_fake_rows(
                    db,
                    model=prepared,
                    count=count,
                    seed=seed,
                    factory=factory,
                    batch_size=batch_size,
                    progress=advance,
                    actor=current_actor(),
                )
            from app.services.fake_users import create_fake_users

            return await create_fake_users(
                db,
                count=count,
                password=prepared,
                seed=seed,
                role=role,
                batch_size=batch_size,
                progress=advance,
                actor=current_actor(),
            )

    run_session(ctx, handler, json_output=json_output, render=views.render_fake)


def _model_named(name: str) -> Any:
    from app.errors import AppException, ErrorCode
    from app.services.seed_rows import table_models

    model = table_models().get(name)
    if model is None:
        raise AppException(404, f"no table model {name!r}", ErrorCode.NOT_FOUND)
    return model
