"""What `manage seed` prints for people (--json output is the result itself)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from manage.output import success_line

if TYPE_CHECKING:
    from app.schemas.seed import FakeRowsResult, FakeUsersResult, SeedFileStatus, SeedRunResult

MAX_CHANGE_LINES = 50


@contextmanager
def progress_bar(
    total: int, *, enabled: bool, label: str = "rows"
) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on stderr when it is a terminal; nothing on a pipe.

    Callers advance it only once rows are in the table, never when they are merely read
    or generated: at 100% the work left is the commit."""
    import sys

    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.progress import Progress

    from manage.output import err

    with Progress(console=err(), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def render_run(result: SeedRunResult) -> None:
    symbols = {"create": "+", "update": "~"}
    for change in result.changes[:MAX_CHANGE_LINES]:
        fields = f" ({', '.join(change.fields)})" if change.fields else ""
        success_line(f"{symbols[change.op]} {change.model} {change.key}{fields}")
    # A large streamed section lists a sample of its changes; the counts are exact.
    total = max(len(result.changes), sum(m.created + m.updated for m in result.models))
    if total > MAX_CHANGE_LINES:
        success_line(f"... and {total - MAX_CHANGE_LINES} more")
    verb = "would be " if result.dry_run else ""
    for counts in result.models:
        success_line(
            f"{counts.model}: {counts.created} {verb}created, {counts.updated} {verb}updated, "
            f"{counts.unchanged} unchanged"
        )
    if not result.files:
        success_line("no seed files to run")
    elif result.dry_run:
        success_line("dry run: nothing written")
    elif not result.changed:
        success_line(f"no changes: {len(result.files)} file(s) already seeded")
    else:
        success_line(f"seeded {len(result.files)} file(s)")


def render_status(statuses: list[SeedFileStatus]) -> None:
    if not statuses:
        success_line("no seed files and no seed history")
    for entry in statuses:
        when = entry.applied_at.isoformat(timespec="seconds") if entry.applied_at else "never"
        success_line(f"{entry.state:<8} {entry.file}  (last run: {when})")


def render_fake(result: FakeUsersResult | FakeRowsResult) -> None:
    from app.schemas.seed import FakeRowsResult

    if isinstance(result, FakeRowsResult):
        success_line(
            f"created {result.created} {result.table} row(s), skipped {result.skipped} "
            f"(unique conflicts), seed {result.seed}, in {result.seconds:.1f}s"
        )
        return
    success_line(
        f"created {result.created} user(s), skipped {result.skipped} existing, "
        f"in {result.seconds:.1f}s"
    )


def row_counts(document: dict[str, Any]) -> dict[str, int]:
    """Rows per section of a dump: users, roles, and each model section by its model."""
    counts: dict[str, int] = {}
    for section, value in document.items():
        if section == "models":
            for part in value:
                counts[str(part.get("model"))] = len(part.get("rows") or [])
        else:
            counts[section] = len(value or [])
    return counts
