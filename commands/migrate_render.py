"""How `manage migrate` shows its results to people (scripts use --json)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from manage.output import progress_line, success_line, text_block, warning_line


@dataclass
class OfflineSql:
    range: str
    dialect: str
    sql: str


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def waiting(holder: Any) -> None:
    """Progress on stderr while another process holds the migration lock."""
    who = holder.describe() if holder is not None else "another session"
    progress_line(f"waiting for the migration lock held by {who}")


def interactive() -> bool:
    """Per-revision progress only for a person at a terminal; nothing on a pipe."""
    return sys.stderr.isatty()


def step(revision: str, message: str, is_upgrade: bool) -> None:
    verb = "applied" if is_upgrade else "reverted"
    progress_line(f"  {verb} {revision}  {message}")


def offline_sql(result: OfflineSql) -> None:
    sys.stdout.write(result.sql)
    sys.stdout.flush()


def run_renderer(action: str) -> Callable[[Any], None]:
    def render(result: Any) -> None:
        target = ", ".join(result.after) or "base"
        if action == "stamp":
            was = ", ".join(result.before) or "base"
            success_line(f"stamped {target} (was {was}); no migration ran")
        elif action == "upgrade" and result.applied:
            success_line(f"applied {_plural(len(result.applied), 'revision')}; now at {target}")
        elif action == "downgrade" and result.reverted:
            success_line(f"reverted {_plural(len(result.reverted), 'revision')}; now at {target}")
        else:
            success_line(f"already at {target}; nothing to do")

    return render


def status(result: Any, *, warn_edited: bool = True) -> None:
    from manage.tables import KEY, TEXT, data_table, timestamp

    rows = []
    for rev in result.revisions:
        state = "applied" if rev.applied else "pending"
        if rev.is_head:
            state += " (head)"
        if rev.is_current:
            state += " (current)"
        if rev.edited:
            state += " (edited after applied)"
        rows.append([rev.revision, timestamp(rev.created), rev.message, state])
    columns = [("revision", KEY), ("created", KEY), ("message", TEXT), ("state", TEXT)]
    data_table(columns, rows)
    if result.edited and warn_edited:  # `--check` says it once, as its error line
        warning_line(edited_reason(result.edited))
    pending = len(result.pending)
    success_line(
        "up to date" if pending == 0 else f"{pending} pending; run `manage migrate upgrade`"
    )


def edited_reason(edited: list[Any]) -> str:
    """One line naming the applied revision files that changed since they were applied."""
    files = ", ".join(f"{rev.file} ({rev.revision})" for rev in edited)
    return (
        f"{_plural(len(edited), 'applied revision')} edited after applied: {files}; "
        'see docs/migrations.md, "Revision checksums"'
    )


def current(result: dict[str, Any]) -> None:
    at = ", ".join(result["current"]) or "base (no migrations applied)"
    suffix = " (head)" if result["at_head"] else f"; head is {', '.join(result['heads'])}"
    success_line(f"{at}{suffix}")


def revisions(result: list[Any]) -> None:
    from manage.tables import timestamp

    for rev in result:
        parents = ", ".join(rev.down_revision) or "<base>"
        flags = " (head)" if rev.is_head else ""
        labels = f" [{', '.join(rev.branch_labels)}]" if rev.branch_labels else ""
        created = f"  {timestamp(rev.created)}" if rev.created else ""
        success_line(f"{parents} -> {rev.revision}{flags}{labels}, {rev.message}{created}")


def made(result: Any) -> None:
    for note in result.manual:  # enum labels removed or reordered: autogenerate cannot
        warning_line(f"needs a manual revision: {note}")
    if result.path is None and result.manual:
        success_line("nothing written: the changes above need a manual revision")
        return
    if result.path is None:
        success_line(
            "no changes between the models and the database; nothing written "
            "(use --empty for an empty revision)"
        )
        return
    for operation in result.operations:
        success_line(f"  {operation}")
    success_line(f"created {result.path}")


def drift(report: Any) -> None:
    if sorted(report.current) != sorted(report.heads):
        warning_line(
            f"the database is at {', '.join(report.current) or 'base'}, not at head "
            f"{', '.join(report.heads)}: pending migrations show up as drift"
        )
    if report.clean:
        success_line("no drift: the database matches the models")
        return
    success_line("the database differs from the models; a migration would have to:")
    for difference in report.differences:
        success_line(f"  - {difference.description}")
    if report.sql is not None:
        success_line("")
        text_block(report.sql)
