"""`manage migrate review`: the migration reviewer (db/review/), and how it shows findings.

Registered on the migrate group by commands/migrate.py; `migrate make`
calls `review_written` on the file it writes. Light to import: heavy imports live in the bodies.
docs/review.md documents the rules, exit codes and the JSON shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from manage.options import JsonOption
from manage.runner import run_engine

if TYPE_CHECKING:
    from db.review.findings import Finding
    from db.review.review import ReviewReport
    from manage.runner import Runtime


def review_command(
    ctx: typer.Context,
    revision_range: Annotated[
        str | None,
        typer.Argument(
            metavar="RANGE",
            help="START:END (either side may be empty). Default: the revisions the "
            "configured database has not applied yet.",
            show_default=False,
        ),
    ] = None,
    all_revisions: Annotated[
        bool, typer.Option("--all", help="Review every revision in the scripts directory.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Warnings fail too (exit 1 on any finding).")
    ] = False,
    no_sql_lint: Annotated[
        bool,
        typer.Option("--no-sql-lint", help="Skip squawk and the SQLite check."),
    ] = False,
    roundtrip: Annotated[
        bool,
        typer.Option(
            "--roundtrip",
            help="Also upgrade, downgrade one step and upgrade again on a scratch database "
            "(created and dropped by the review) and compare the schemas.",
        ),
    ] = False,
    all_findings: Annotated[
        bool,
        typer.Option(
            "--all-findings", help="Also list findings silenced by `# manage: allow RULE`."
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Review migrations for data loss, long locks, renames in disguise, SQLite breakage and
    broken chains; on a PostgreSQL database, lock findings show their table's rows.

    Exit 1 when an error-level finding is present (with --strict: any finding), else 0.
    With --json, `data` is {"scope", "revisions": [{"revision", "path", "message"}],
    "findings": [{"rule", "severity", "path", "line", "revision", "message", "why", "fix",
    "source", "silenced", "reason", "table", "table_rows", "table_bytes", "also"}], "errors",
    "warnings", "silenced", "sql_lint", "roundtrip", "notes"} (docs/review.md).
    """

    async def handler(runtime: Runtime) -> Any:
        from app.errors import ErrorCode
        from db.review.review import review
        from manage.errors import CheckFailed, UsageError

        if revision_range and all_revisions:
            raise UsageError("give a RANGE or --all, not both")
        selected, scope, notes = await _selection(runtime, revision_range, all_revisions)
        report = review(selected, scope=scope, sql=not no_sql_lint, all_findings=all_findings)
        report.notes[:0] = notes
        if not no_sql_lint:
            await _sqlite(report, all_findings=all_findings)
        unreachable = next(
            (n.removesuffix(UNREACHABLE) for n in notes if n.endswith(UNREACHABLE)), None
        )
        down = await _table_sizes(runtime, report, unreachable=unreachable)
        if roundtrip and report.loadable and (unreachable or down):
            from db.errors import DatabaseUnavailable

            # Known unreachable: a second DB_CONNECT_TIMEOUT for the scratch database helps no one.
            raise DatabaseUnavailable(f"{unreachable or down}; --roundtrip needs the server")
        if roundtrip and report.loadable:
            await _roundtrip(runtime, report, all_findings=all_findings)
        if not report.failed(strict=strict):
            return report
        if not json_output:
            render(report)
        raise CheckFailed(
            f"review failed: {_counts(report)}"
            + (" (--strict: warnings fail)" if strict and not report.errors else ""),
            error_code=ErrorCode.REVIEW_FINDINGS,
            data=report,
        )

    async def quiet(runtime: Runtime) -> Any:
        if not json_output:
            return await handler(runtime)
        from commands.migrate_support import stdout_to_stderr

        with stdout_to_stderr():  # a revision's print(), even at fd level, never in the JSON
            return await handler(runtime)

    run_engine(ctx, quiet, json_output=json_output, render=render)


# The end of the note when the database could not be reached (no second attempt for sizes).
UNREACHABLE = ": cannot tell what is pending; reviewing all"


async def _selection(
    runtime: Runtime, revision_range: str | None, all_revisions: bool
) -> tuple[set[str] | None, Any, list[str]]:
    """(revision ids or None for all, scope, notes) for RANGE, --all or the pending ones."""
    from db.review.review import range_revisions

    if all_revisions:
        return None, "all", []
    if revision_range:
        return range_revisions(revision_range), "range", []
    return await _pending(runtime)


async def _pending(runtime: Runtime) -> tuple[set[str] | None, Any, list[str]]:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from commands.migrate_support import with_migration_engine
    from db import migrations
    from db.errors import BadRevision
    from db.review.review import broken_chain
    from manage.errors import classify
    from manage.exit_codes import ExitCode

    broken = broken_chain()
    if broken is not None:
        return None, "all", [f"cannot tell the pending revisions ({broken}): reviewing all"]
    settings = runtime.settings.db
    url = make_url(settings.db_migration_url or settings.database_url)
    database = url.database or ""
    # Connecting would create an empty file: every revision is pending anyway.
    sqlite_file = url.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    if sqlite_file and not Path(database).exists():
        return None, "pending", [f"no database file {database} yet: every revision is pending"]
    try:
        status = await with_migration_engine(runtime, migrations.status)
    except BadRevision as exc:
        return None, "all", [f"cannot tell the pending revisions ({exc.message}): reviewing all"]
    except Exception as exc:
        failure = classify(exc)
        if failure.exit_code != ExitCode.UNAVAILABLE:
            raise
        return None, "all", [f"{failure.message}{UNREACHABLE}"]
    return {rev.revision for rev in status.pending}, "pending", []


async def _sqlite(report: ReviewReport, *, all_findings: bool) -> None:
    """The SQLite check (db/review/sqlite_check.py), unless `sqlite = "off"`."""
    from db.review.review import broken_chain, finish, review_config, scripts
    from db.review.sqlite_check import sqlite_check

    mode = review_config().sqlite
    if (
        mode == "off" or not report.loadable or broken_chain() is not None
    ):  # a broken chain cannot be run
        return
    ids = {rev.revision for rev in report.revisions}
    try:
        found, notes = await sqlite_check(scripts(), ids, severity=mode)
    except Exception as exc:  # the check itself (not a revision) failed: never fail the review
        reason = str(exc).strip().splitlines()
        report.notes.append(f"SQLite check skipped: {reason[0] if reason else type(exc).__name__}")
        return
    report.notes.extend(notes)
    finish(report, found, all_findings=all_findings)


async def _table_sizes(
    runtime: Runtime, report: ReviewReport, *, unreachable: str | None = None
) -> str | None:
    """Rows of the tables lock findings touch, on a configured PostgreSQL database.

    SQLite, or no lock finding: nothing to do. Unreachable or failing: one note, never a failure.
    Returns why the database is unreachable (exit 6 class), else None.
    """
    from sqlalchemy.engine import make_url

    from commands.migrate_support import with_migration_engine
    from db.review import table_size
    from db.review.review import recount, review_config

    tables = table_size.candidates(report.findings)
    settings = runtime.settings.db
    url = settings.db_migration_url or settings.database_url
    try:
        postgres = make_url(url).get_backend_name() == "postgresql"
    except Exception:
        postgres = False
    if not tables or not postgres:
        return None
    if unreachable is not None:  # the pending lookup already failed to connect
        report.notes.append(
            f"table sizes unknown ({unreachable}): lock findings are not ranked by rows"
        )
        return None

    async def sizes(engine: Any) -> dict[str, tuple[int, int]]:
        async with engine.connect() as connection:
            return await table_size.lookup(connection, tables)

    try:
        found = await with_migration_engine(runtime, sizes)
    except Exception as exc:
        from manage.errors import classify
        from manage.exit_codes import ExitCode

        failure = classify(exc)
        reason = failure.message.strip().splitlines()
        first = reason[0] if reason else type(exc).__name__
        report.notes.append(f"table sizes unknown ({first}): lock findings are not ranked by rows")
        return first if failure.exit_code == ExitCode.UNAVAILABLE else None
    table_size.annotate(report.findings, found, review_config().large_table_rows)
    recount(report)
    return None


async def _roundtrip(runtime: Runtime, report: ReviewReport, *, all_findings: bool) -> None:
    from db.review.review import finish, scripts
    from db.review.roundtrip import roundtrip

    settings = runtime.settings.db
    ids = {rev.revision for rev in report.revisions}
    found, notes = await roundtrip(
        settings.db_migration_url or settings.database_url,
        scripts(),
        {str(i) for i in ids},
        connect_timeout=settings.db_connect_timeout,
    )
    report.roundtrip = True
    report.notes.extend(notes)
    finish(report, found, all_findings=all_findings)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _counts(report: ReviewReport) -> str:
    parts = [_plural(report.errors, "error"), _plural(report.warnings, "warning")]
    if report.silenced:
        parts.append(f"{report.silenced} allowed")
    return ", ".join(parts)


def finding_lines(item: Finding) -> list[str]:
    from db.review.table_size import describe

    where = f"{item.path}:{item.line}" if item.line else item.path
    allowed = f" (allowed: {item.reason})" if item.silenced else ""
    size = describe(item)
    return [
        f"{where}: {item.severity} [{item.rule}] {item.message}{allowed}",
        *([f"    table: {size}"] if size else []),
        *([f"    also: {', '.join(item.also)} (the same finding)"] if item.also else []),
        f"    why: {item.why}",
        f"    fix: {item.fix}",
    ]


def render(report: ReviewReport) -> None:
    from manage.output import success_line, warning_line

    for note in report.notes:
        warning_line(note)
    for item in report.findings:
        for line in finding_lines(item):
            success_line(line)
    reviewed = _plural(len(report.revisions), "revision")
    if not report.revisions and report.scope == "pending":
        success_line("no pending revisions to review (use --all or a RANGE)")
    elif not report.findings:
        success_line(f"reviewed {reviewed}: no findings")
    else:
        success_line(f"reviewed {reviewed}: {_counts(report)}")


def review_written(path: str | None) -> None:
    """After `migrate make`: review the new file, findings on stderr (make's exit is kept)."""
    if path is None:
        return
    from pathlib import Path

    from db.review.review import review
    from manage.output import progress_line, warning_line

    try:
        report = review(None, scope="file", only=Path(path))
    except Exception as exc:  # the file is written: a review problem must not fail `make`
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        warning_line(f"could not review {path}: {reason}")
        return
    for note in report.notes:
        warning_line(note)
    for item in report.findings:
        for line in finding_lines(item):
            progress_line(line)
    if report.findings:
        progress_line(f"review: {_counts(report)} in the new revision; see `manage migrate review`")
