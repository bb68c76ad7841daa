"""`manage migrate backfill`: run the backfills revisions declared, batch by batch.

The work is db/backfill/runner.py's; this module parses the options and shows progress: a rich
progress bar (rows/s, ETA) on a terminal, one JSON line per backfill on stderr every few seconds
otherwise, and the report at the end (`--json`: the envelope on stdout). docs/migrations.md,
"Backfills".
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from manage.options import JsonOption
from manage.output import err, success_line, warning_line

if TYPE_CHECKING:
    from manage.runner import Runtime

LOG_EVERY = 5.0  # seconds between progress lines on a pipe


def backfill_command(
    ctx: typer.Context,
    target: Annotated[
        str | None,
        typer.Argument(help="A backfill name, or a revision: runs the backfills it declares."),
    ] = None,
    all_backfills: Annotated[
        bool, typer.Option("--all", help="Run every backfill not yet complete, oldest first.")
    ] = False,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            min=1,
            max=1_000_000,
            help="Keys per batch, 1-1000000 (default: the declaration's).",
        ),
    ] = None,
    max_seconds: Annotated[
        float | None,
        typer.Option(
            "--max-seconds",
            min=0,
            max=604_800,
            help="Stop after this many seconds, 0-604800 (after the batch in flight); run again "
            "to resume.",
        ),
    ] = None,
    pause: Annotated[
        int | None,
        typer.Option(
            "--pause",
            min=0,
            max=3_600_000,
            help="Milliseconds between batches, 0-3600000 (default: the declaration's).",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what would run (keys left, batches); change nothing."),
    ] = False,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            help="Walk the named backfill again from its first key under its declaration as it "
            "is now (after its revision file was edited); the rows done before get the work again.",
        ),
    ] = False,
    max_lag: Annotated[
        float,
        typer.Option(
            "--max-lag",
            min=0,
            max=86_400,
            help="PostgreSQL: wait between batches while replication lag exceeds this "
            "(seconds, 0-86400).",
        ),
    ] = 10.0,
    max_lock_waiters: Annotated[
        int,
        typer.Option(
            "--max-lock-waiters",
            min=0,
            max=100_000,
            help="PostgreSQL: wait between batches while more sessions than this wait for locks "
            "(0-100000).",
        ),
    ] = 10,
    json_output: JsonOption = False,
) -> None:
    """Run declared backfills batch by batch, each batch in its own short transaction.

    Progress is recorded after every batch: Ctrl-C, SIGTERM, a crash or --max-seconds stop it,
    and the next run resumes at the first key not done. With --json, `data` is a list of
    {"name", "revision", "table", "key", "batch_size", "state", "rows", "batches", "changed",
    "rows_done", "remaining", "last_key", "seconds", "throttled_seconds", "retries"}; state is
    "complete", "stopped" (run again to resume) or "planned" (--dry-run).
    """
    from manage.runner import run_engine

    if (target is None) == (not all_backfills):
        raise typer.BadParameter(
            "give a backfill name or revision, or --all (not both)", param_hint="TARGET"
        )
    if restart and target is None:
        raise typer.BadParameter(
            "--restart re-applies work: name the backfill (or revision) to restart, not --all",
            param_hint="--restart",
        )
    display = _Display(json_output=json_output)
    idle: list[str] = []  # why --all found nothing to run (told in the text output)

    async def handler(runtime: Runtime) -> Any:
        from commands.migrate_support import _refuse_pgbouncer as refuse_pgbouncer
        from commands.migrate_support import with_migration_engine
        from db.backfill.runner import Options, run

        options = Options(
            batch_size=batch_size,
            pause=None if pause is None else pause / 1000,
            max_seconds=max_seconds,
            dry_run=dry_run,
            restart=restart,
            max_lag=max_lag,
            max_lock_waiters=max_lock_waiters,
        )

        async def body(engine: Any) -> Any:
            if engine is runtime.engine:
                refuse_pgbouncer(runtime, engine)  # the per-backfill lock is session-level
            reports = await run(
                engine, target, options, settings=runtime.settings.db, on_event=display.event
            )
            if not reports:
                idle.append(await _why_idle(engine))
            return reports

        try:
            return await with_migration_engine(runtime, body)
        finally:
            display.close()

    from commands.migrate_support import clean_output

    # Loading the scripts may warn or print: one warning line each, stdout kept for --json.
    def show(reports: list[Any]) -> None:
        render(reports, idle[0] if idle else None)

    run_engine(
        ctx, clean_output(handler, json_output=json_output), json_output=json_output, render=show
    )


async def _why_idle(engine: Any) -> str:
    """What is true when `--all` has nothing to run: no declaration, every one complete (or
    nothing left to walk), or some in revisions this database has not applied."""
    from db.backfill.discovery import states
    from db.migrations import on_connection, script_directory

    found = await on_connection(engine, states, script_directory())
    if not found:
        return "no revision declares a backfill"
    waiting = [s for s in found if s.state == "not applied"]
    gone = [s.name for s in found if s.state == "missing"]
    found = [s for s in found if s.state != "missing"]
    done = len(found) - len(waiting)
    if gone:
        moot = (
            f"{', '.join(gone)}: table or key no longer exists (a later revision dropped or "
            "renamed it)"
        )
        if not found:
            return moot
        return f"{moot}; {_idle_rest(found, waiting, done)}"
    return _idle_rest(found, waiting, done)


def _idle_rest(found: list[Any], waiting: list[Any], done: int) -> str:
    if not waiting:
        empty = "" if all(s.state == "complete" for s in found) else " or has nothing left to walk"
        return f"every declared backfill is complete{empty} ({done})"
    revisions = ", ".join(dict.fromkeys(s.revision for s in waiting))
    noun = "backfill is" if len(waiting) == 1 else "backfills are"
    ready = f"; {done} applied and complete" if done else ""
    return (
        f"{len(waiting)} declared {noun} in revisions not applied yet ({revisions}){ready}: "
        "run `manage migrate upgrade` first"
    )


class _Display:
    """A rich progress bar on a terminal; JSON lines on stderr on a pipe (never with --json)."""

    def __init__(self, *, json_output: bool) -> None:
        self.bar: Any = None
        self.task: Any = None
        self.interactive = sys.stderr.isatty()
        self.json_output = json_output
        self.last_line = 0.0
        self.last_detail: str | None = None  # a throttle or retry reason, said once per change
        self.reports: dict[str, Any] = {}

    def event(self, event: str, report: Any, detail: str | None) -> None:
        self.reports[report.name] = report
        if self.interactive:
            self._bar(event, report, detail)
            return
        news = event in {"start", "finish"} or (detail is not None and detail != self.last_detail)
        if news or time.monotonic() - self.last_line >= LOG_EVERY:
            self._line(event, report, detail)
        self.last_detail = detail

    def _bar(self, event: str, report: Any, detail: str | None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        if event == "start":
            self.close()
            self.bar = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} rows/s", markup=False),
                TimeRemainingColumn(),
                console=err(),
                transient=False,
            )
            self.bar.start()
            total = (report.remaining or 0) + report.rows_done
            self.task = self.bar.add_task(
                f"{report.name} ({report.table})",
                total=total or None,
                completed=report.rows_done,
                rate="-",
            )
        elif self.bar is not None and event == "batch":
            self.bar.update(
                self.task, completed=report.rows_done, rate=f"{report.rows_per_second:,.0f}"
            )
        elif event in {"throttle", "retry"}:
            warning_line(f"backfill {report.name}: {event}: {detail}")
        elif event == "finish":
            self.close()

    def _line(self, event: str, report: Any, detail: str | None) -> None:
        self.last_line = time.monotonic()
        rate = report.rows_per_second
        line = {
            "event": event,
            "backfill": report.name,
            "rows_done": report.rows_done,
            "remaining": report.remaining,
            "rows_per_second": round(rate, 1),
            "eta_seconds": round(report.remaining / rate, 1) if rate and report.remaining else None,
        }
        if detail:
            line["detail"] = detail
        sys.stderr.write(json.dumps(line) + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def render(reports: list[Any], idle: str | None = None) -> None:
    if not reports:
        success_line(f"no backfill to run: {idle or 'none is owed'}")
        return
    for r in reports:
        if r.state == "planned":
            success_line(
                f"{r.name} ({r.revision}, {r.table}.{r.key}): {r.remaining} keys left in "
                f"{r.batches} batches of {r.batch_size}; {r.rows_done} done before"
            )
        elif r.state == "complete":
            success_line(
                f"{r.name}: complete; {r.rows} keys in {r.batches} batches this run "
                f"({r.rows_per_second:,.0f} rows/s), {r.rows_done} in all"
            )
        else:
            warning_line(
                f"{r.name}: stopped at --max-seconds after {r.batches} batches ({r.rows} keys); "
                f"{r.remaining} keys left; run `manage migrate backfill {r.name}` to resume"
            )


def show_owed(backfills: list[Any]) -> None:
    """One warning line per backfill still owed (for `migrate status` and `db check`)."""
    from types import SimpleNamespace

    from db.backfill.progress import GONE

    for item in backfills:
        state = SimpleNamespace(**item) if isinstance(item, dict) else item
        if state.state == "missing":
            warning_line(
                f"backfill {state.name} ({state.revision}): {state.table}.{state.key} (its "
                f"table or key) no longer exists, {state.rows_done} rows done before: "
                + GONE.format(name=state.name)
            )
            continue
        way = " --restart` (its revision file was edited" if state.state == "changed" else "`"
        warning_line(
            f"backfill {state.name} ({state.revision}, {state.table}): {state.state}, "
            f"{state.rows_done} rows done; run `manage migrate backfill {state.name}{way}"
            + (")" if state.state == "changed" else "")
        )


async def announce(engine: Any, applied: list[str]) -> None:
    """After an upgrade: name the backfills the applied revisions declared that have work to do,
    and how to run them (an empty table on a fresh database has none)."""
    if not applied:
        return
    from db.backfill.discovery import owed

    for state in await owed(engine):
        if state.revision in applied:
            warning_line(
                f"revision {state.revision} declared backfill {state.name} on {state.table}: "
                f'run `manage migrate backfill {state.name}` (docs/migrations.md, "Backfills")'
            )
