"""`manage db init`: the idempotent container-start step.

wait for the database -> take the bootstrap lock -> migrate to head -> sync the `base` seed
set -> create the first superuser if it does not exist. Safe from many pods at once: the
first does the work, the others wait for the lock and find nothing to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from manage.options import JsonOption
from manage.runner import fail, run_engine, settings_for

MAX_WAIT_SECONDS = 86_400  # --wait and --lock-timeout: one day at most (finite, never inf/nan)

if TYPE_CHECKING:
    from app.config import Settings
    from manage.runner import Runtime


def init_command(
    ctx: typer.Context,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            max=MAX_WAIT_SECONDS,
            help="Seconds (0-86400) to wait for the database to answer.",
        ),
    ] = 30,
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            min=0,
            max=MAX_WAIT_SECONDS,
            help="Seconds (0-86400) to wait for another pod's `db init`.",
        ),
    ] = 300,
    seeds_dir: Annotated[
        Path, typer.Option("--seeds-dir", help="Where the seed sets live.", file_okay=False)
    ] = Path("seeds"),
    json_output: JsonOption = False,
) -> None:
    """Prepare the database at container start; safe to run on every start, from many pods.

    Waits for the database (--wait), then, holding a bootstrap lock: migrates to head, syncs
    the `base` seed set, and creates the first superuser from FIRST_SUPERUSER_EMAIL and
    FIRST_SUPERUSER_PASSWORD_FILE (or FIRST_SUPERUSER_PASSWORD) when it does not exist; an
    existing account is never changed, and its password setting is then not read (a rerun
    needs none). Each step is reported. With --json, `data` is
    {"migrations": {"applied", "head"}, "seeds": {"files", "created", "updated",
    "unchanged"}, "superuser": {"email", "outcome"}}.
    """
    try:
        settings = settings_for(ctx)
        first, problem = _first_superuser(settings)
    except Exception as exc:
        fail(ctx, exc, json_output=json_output)
        return

    async def handler(runtime: Runtime) -> dict[str, Any]:
        from commands.migrate_support import with_migration_engine
        from db.engine import ping
        from db.init_lock import init_lock
        from manage.retry import until_deadline

        await until_deadline(
            lambda: ping(runtime.engine),
            seconds=wait,
            min_attempt=runtime.settings.db.db_connect_timeout,
        )

        if problem is not None and not await _account_exists(runtime, first):
            raise problem  # the password is needed: say so before anything is done

        async def body(migration_engine: Any) -> dict[str, Any]:
            async with init_lock(migration_engine, timeout=lock_timeout):
                report = {"migrations": await _migrate(runtime, migration_engine, lock_timeout)}
                report.update(await _seed_and_superuser(runtime, seeds_dir, first, problem))
                return report

        return await with_migration_engine(runtime, body, runs_migrations=True)

    run_engine(ctx, handler, json_output=json_output, render=_render)


def _first_superuser(
    settings: Settings,
) -> tuple[tuple[str, str | None] | None, Exception | None]:
    """((email, password), None) from the FIRST_SUPERUSER_* settings, validated; (None, None)
    when unset. A password that is missing, unreadable or refused by the policy is returned
    as ((email, None), the error): it only matters when the account does not exist yet, and
    a rerun (the account exists, nothing changes) must not fail on it."""
    from app.errors import AppException
    from app.schemas.user import normalize_email

    app_settings = settings.app
    if not app_settings.first_superuser_email:
        return None, None
    email = normalize_email(app_settings.first_superuser_email)
    try:
        return (email, _first_password(settings, email)), None
    except AppException as exc:
        return (email, None), exc


async def _account_exists(runtime: Runtime, first: tuple[str, str | None] | None) -> bool:
    from app.services import users
    from db.engine import session_factory

    if first is None:
        return False
    async with session_factory(runtime.engine)() as db:
        return await users.account_exists(db, email=first[0])


def _first_password(settings: Settings, email: str) -> str:
    from app.errors import AppException, ErrorCode
    from app.secret_files import SecretFileError, read_secret_file, strip_secret
    from app.security import check_password_policy

    app_settings = settings.app
    path = app_settings.first_superuser_password_file
    if path is not None:
        try:
            password = read_secret_file(path)
        except SecretFileError as exc:
            raise AppException(
                422,
                f"cannot use FIRST_SUPERUSER_PASSWORD_FILE {path}: {exc}",
                ErrorCode.INVALID_INPUT,
            ) from None
    elif app_settings.first_superuser_password is not None:
        password = strip_secret(app_settings.first_superuser_password.get_secret_value())
    else:
        raise AppException(
            422,
            "FIRST_SUPERUSER_EMAIL is set but neither FIRST_SUPERUSER_PASSWORD_FILE nor "
            "FIRST_SUPERUSER_PASSWORD is",
            ErrorCode.INVALID_INPUT,
        )
    check_password_policy(password, min_length=settings.security.password_min_length, email=email)
    return password


async def _migrate(runtime: Runtime, engine: Any, lock_timeout: float) -> dict[str, Any]:
    from db import migrations

    result = await migrations.upgrade(
        engine, "head", settings=runtime.settings.db, lock_timeout=lock_timeout
    )
    return {"applied": result.applied, "head": result.after}


async def _seed_and_superuser(
    runtime: Runtime,
    seeds_dir: Path,
    first: tuple[str, str | None] | None,
    problem: Exception | None,
) -> dict[str, Any]:
    """The base seeds and the first superuser, in one transaction."""
    from pydantic import SecretStr

    from app.choices import IfExists
    from app.schemas.user import UserCreate
    from app.services import users
    from app.services.seed_files import load, select_files
    from app.services.seeds import run_seeds
    from db import progress
    from db.engine import session_factory
    from manage.actor import current_actor
    from manage.runner import bounded_cleanup

    settings, actor = runtime.settings, current_actor()
    files = select_files(seeds_dir, ["base"], default_set=None) if seeds_dir.is_dir() else []
    loaded = load(
        files,
        production=settings.is_production,
        min_length=settings.security.password_min_length,
    )
    report: dict[str, Any] = {}
    async with session_factory(runtime.engine)() as db:
        try:
            seeded = await run_seeds(db, loaded=loaded, dry_run=False, actor=actor)
            report["seeds"] = _seed_counts(seeded)
            if first is None:
                report["superuser"] = {"email": None, "outcome": "skipped"}
            elif first[1] is None:
                # The account existed before migrating; its password is not needed.
                if not await users.account_exists(db, email=first[0]) and problem is not None:
                    raise problem  # deleted since the look-up before migrating
                report["superuser"] = {"email": first[0], "outcome": "unchanged"}
            else:
                email, password = first
                data = UserCreate(email=email, password=SecretStr(password), is_superuser=True)
                _, outcome = await users.ensure_superuser(
                    db, data=data, actor=actor, if_exists=IfExists.skip
                )
                report["superuser"] = {"email": email, "outcome": outcome.value}
            # For an interruption's message (db/progress.py): the revisions are already in.
            progress.step_done("", "the base seeds and first superuser")
            progress.commit_sent()
            await db.commit()
            progress.steps_committed()
        except BaseException:
            progress.steps_rolled_back()
            await bounded_cleanup(db.rollback(), on_timeout=db.invalidate)
            raise
    return report


def _seed_counts(result: Any) -> dict[str, Any]:
    totals = {"created": 0, "updated": 0, "unchanged": 0}
    for model in result.models:
        for key in totals:
            totals[key] += getattr(model, key, 0)
    return {"files": [f.file for f in result.files], **totals}


def _render(report: dict[str, Any]) -> None:
    from manage.output import success_line

    migrations, seeds, superuser = report["migrations"], report["seeds"], report["superuser"]
    head = ", ".join(migrations["head"]) or "base"
    applied = len(migrations["applied"])
    success_line(
        f"migrations: applied {applied}, now at {head}"
        if applied
        else f"migrations: already at {head}"
    )
    success_line(
        f"seeds (base): {seeds['created']} created, {seeds['updated']} updated, "
        f"{seeds['unchanged']} unchanged"
        if seeds["files"]
        else "seeds (base): none found"
    )
    outcome = superuser["outcome"]
    if outcome == "skipped":
        success_line("first superuser: FIRST_SUPERUSER_EMAIL not set; skipped")
    elif outcome == "created":
        success_line(f"first superuser: created {superuser['email']}")
    else:
        success_line(f"first superuser: {superuser['email']} exists; left unchanged")
