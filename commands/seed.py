"""`manage seed`: declarative seed sets and fake data. Logic lives in app/services/seed*.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from commands import seed_render as views
from manage.options import (
    ForceOption,
    JsonOption,
    YesOption,
)
from manage.output import success_line
from manage.runner import prepare, run_session, settings_for

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from app.schemas.seed import SeedFileStatus, SeedRunResult

app = typer.Typer(
    help="Load seed sets (YAML, idempotent) and fake data.",
    no_args_is_help=True,
)

SeedsDirOption = Annotated[
    Path,
    typer.Option(
        "--seeds-dir",
        envvar="SEEDS_DIR",
        help="The directory holding one sub-directory per seed set.",
        file_okay=False,
    ),
]


@app.command("run")
def run(
    ctx: typer.Context,
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            help="Seed sets (directory names) or seed files. Default: base, then the set "
            "named by --set or ENVIRONMENT.",
            show_default=False,
        ),
    ] = None,
    seed_set: Annotated[
        str | None,
        typer.Option(
            "--set", help="The set to load after base (default: $ENVIRONMENT).", show_default=False
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would change; write nothing.")
    ] = False,
    recheck: Annotated[
        bool,
        typer.Option(
            "--recheck",
            help="Read and compare every row even when the files and tables are as the "
            "last run left them.",
        ),
    ] = False,
    seeds_dir: SeedsDirOption = Path("seeds"),
    yes: YesOption = False,
    force: ForceOption = False,
    json_output: JsonOption = False,
) -> None:
    """Upsert seed sets by natural key, in one transaction.

    With ENVIRONMENT=production, sets other than base and production are refused unless
    --yes (and on a terminal you type the set names; without one, --force).

    Every row is validated before anything is written; a bad row is exit 5 naming
    file:line: section[i].field. A second run changes nothing and says so; when the files,
    the tables they touch, the code and the schema are all as the last run left them, it
    does so without reading the rows (--recheck reads them anyway).
    """
    from manage.actor import current_actor

    def build() -> Any:
        from app.services.seed_files import load, select_files

        settings = settings_for(ctx)
        default = seed_set or settings.app.environment.value
        files = select_files(seeds_dir, list(targets or []), default_set=default)
        if settings.is_production:
            _guard_production_sets(files, seeds_dir, yes=yes, force=force)
        return load(
            files,
            production=settings.is_production,
            min_length=settings.security.password_min_length,
        )

    loaded = prepare(ctx, build, json_output=json_output)
    from manage.output import warning_line

    for warning in loaded.warnings:
        warning_line(warning)

    async def handler(db: AsyncSession) -> SeedRunResult:
        from app.services.seeds import run_seeds

        return await run_seeds(
            db, loaded=loaded, dry_run=dry_run, actor=current_actor(), recheck=recheck
        )

    run_session(ctx, handler, json_output=json_output, render=views.render_run)


def _guard_production_sets(files: list[Any], seeds_dir: Path, *, yes: bool, force: bool) -> None:
    """In production, loading a set meant for another environment is a destructive act.

    A file outside the seeds directory's own base/ and production/ folders is named by its
    path (a folder called `production` elsewhere is not the production set)."""
    from app.services.seed_guards import production_set, set_label
    from manage.confirm import confirm_destructive

    others = list(
        dict.fromkeys(set_label(f, seeds_dir) for f in files if not production_set(f, seeds_dir))
    )
    if others:
        confirm_destructive(
            action=f"load seed set(s) {', '.join(others)}",
            yes=yes,
            production=True,
            force=force,
            type_to_confirm=",".join(others),
        )


@app.command("status")
def status(
    ctx: typer.Context, seeds_dir: SeedsDirOption = Path("seeds"), json_output: JsonOption = False
) -> None:
    """Show which seed files ran, and which changed since (or never ran).

    States: applied (unchanged since its last run), changed, new (never run), missing
    (ran once, no longer on disk).
    """

    def build() -> Any:
        from app.services.seed_files import list_sets

        return [f for files in list_sets(seeds_dir).values() for f in files]

    on_disk = prepare(ctx, build, json_output=json_output)

    async def handler(db: AsyncSession) -> list[SeedFileStatus]:
        from app.services.seed_history import seed_status

        return await seed_status(db, on_disk=on_disk)

    run_session(ctx, handler, json_output=json_output, render=views.render_status)


@app.command("list")
def list_sets(
    ctx: typer.Context, seeds_dir: SeedsDirOption = Path("seeds"), json_output: JsonOption = False
) -> None:
    """List the seed sets and their files (no database needed)."""

    def build() -> Any:
        from app.schemas.seed import SeedSetListing
        from app.services.seed_files import list_names

        return [
            SeedSetListing(
                seed_set=name,
                files=[file for file, _ in files],
                unreadable={file: problem for file, problem in files if problem},
            )
            for name, files in list_names(seeds_dir).items()
        ]

    listing = prepare(ctx, build, json_output=json_output)
    if json_output:
        from manage.output import emit_json

        emit_json(success=True, data=listing)
        return
    if not listing:
        success_line(f"no seed sets in {seeds_dir}")
    for entry in listing:
        shown = [
            f"{name} [{entry.unreadable[name]}]" if name in entry.unreadable else name
            for name in entry.files
        ]
        success_line(f"{entry.seed_set}: {', '.join(shown) or '(empty)'}")


@app.command("dump")
def dump(
    ctx: typer.Context,
    tables: Annotated[
        list[str],
        typer.Argument(help="Tables or model names: users, roles, role_permissions, ..."),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the seed file here (default: stdout).", dir_okay=False
        ),
    ] = None,
    include_secrets: Annotated[
        bool,
        typer.Option(
            "--include-secrets",
            help="Include password hashes and other secret columns (left out by default).",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Write tables as a seed file that `seed run` loads back with zero changes.

    Users and roles get their own sections; other tables a `models:` section keyed by their
    first unique constraint (else the primary key), foreign keys by natural key.

    With --output, a symlink at FILE is refused; with --include-secrets the file is
    owner-only (0600) and an existing file's mode is never widened.
    """

    async def handler(db: AsyncSession) -> dict[str, Any]:
        from app.services.seed_dump import dump_tables, render_yaml
        from manage.private_files import write_file

        document = await dump_tables(db, tables=tables, include_secrets=include_secrets)
        if output is None:
            if include_secrets and sys.stdout.isatty():
                typer.echo(
                    "warning: --include-secrets without --output prints password hashes "
                    "on this terminal",
                    err=True,
                )
            return document
        write_file(output, render_yaml(document), private=include_secrets)
        # Only where it went and how much: the rows (and any secrets) stay in the file.
        return {"output": str(output), "tables": views.row_counts(document)}

    def render(result: dict[str, Any]) -> None:
        from app.services.seed_dump import render_yaml

        if output is None:
            typer.echo(render_yaml(result), nl=False)
        else:
            counts = ", ".join(f"{name} ({n})" for name, n in result["tables"].items())
            success_line(f"wrote {counts} to {output}")

    run_session(ctx, handler, json_output=json_output, render=render)


from commands.seed_fake import fake  # noqa: E402  (its own file: seed fake USERS|MODEL)

app.command("fake")(fake)
