"""`--roundtrip`: for each reviewed revision, in revision-graph order (parents first, whatever
the file names): upgrade to its parents, put rows in the tables with foreign keys, upgrade to it,
revert only it, upgrade again, on a scratch database (db/review/scratch.py). The reflected schema
must come back the same, and no step may lose rows.

"Revert only it": `REV@-1` for a revision with one parent (a sibling branch stays applied), the
first parent for a merge; any other head the step took down is upgraded again before comparing.
Findings point at `def upgrade()` / `def downgrade()` and can be silenced there like any rule.
"""

from __future__ import annotations

from typing import Any

from db.review import rows
from db.review.findings import Allowances, Finding, apply_allowances, finding
from db.review.roundtrip_schema import differences, reflect
from db.review.scratch import scratch_database
from db.review.scripts import ScriptFile
from db.review.sqlite_check import chain_order


def _span(script: ScriptFile, function: str) -> range | None:
    node = script.function(function)
    if node is None:
        return None
    return range(node.lineno, (node.end_lineno or node.lineno) + 1)


def _reason(exc: BaseException) -> str:
    """The database's own reason for a failed step: from the original error (a RevisionFailed's
    cause), never cut by the revision's docstring (its title can hold newlines and parentheses);
    whitespace runs folded into one line."""
    from db.migration_failures import reason

    cause = exc.__cause__ if exc.__cause__ is not None else exc
    text = reason(cause) if cause is not exc or not getattr(exc, "message", "") else exc.message
    return " ".join(str(text).split()) or type(exc).__name__


async def _with_rows(engine: Any) -> list[str]:
    async with engine.begin() as connection:
        return await connection.run_sync(rows.fill)


class _Stop(Exception):
    """The roundtrip cannot go on; already reported (a note, no second finding)."""


class _Recorder:
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.step = ""

    def fail(
        self, script: ScriptFile, function: str, message: str, *, step_failed: bool = False
    ) -> None:
        span = _span(script, function)
        line = span.start if span is not None else None
        item = finding(
            "roundtrip", path=script.display, line=line, revision=script.revision, message=message
        )
        item.source = "roundtrip"
        if step_failed:  # not a schema difference: the step itself raised
            item.why = (
                "a step of upgrade, downgrade one step, upgrade again failed: "
                "`migrate upgrade` / `migrate downgrade` fail the same way"
            )
            item.fix = "fix the failing step (the database's reason is in the message)"
        spans = {line: span} if line is not None and span is not None else {}
        apply_allowances([item], Allowances.parse(script.source), spans)
        self.findings.append(item)


async def _one(engine: Any, script: ScriptFile, record: _Recorder) -> None:
    from db import migrations

    rev, parents = str(script.revision), script.down_revisions
    record.step = f"upgrade to {', '.join(parents) or 'base'}"
    for parent in parents:
        await migrations.upgrade(engine, parent)
    heads = await migrations.current(engine)
    await _with_rows(engine)
    start = await migrations.on_connection(engine, reflect)
    start_rows = await migrations.on_connection(engine, rows.counts)
    record.step = f"upgrade to {rev}"
    await migrations.upgrade(engine, rev)
    upgraded = await migrations.on_connection(engine, reflect)
    for problem in rows.lost(start_rows, await migrations.on_connection(engine, rows.counts)):
        record.fail(script, "upgrade", f"upgrade to {rev} lost rows: {problem}")
    record.step = f"downgrade of {rev}"
    await migrations.downgrade(engine, f"{rev}@-1" if len(parents) <= 1 else parents[0])
    now = await migrations.current(engine)
    for head in heads:  # a head the downgrade took along (a sibling branch): back up
        if head not in now:
            await migrations.upgrade(engine, head)
    left = differences(start, await migrations.on_connection(engine, reflect))
    for problem in left:
        record.fail(script, "downgrade", f"after downgrade of {rev}: {problem}")
    for problem in rows.lost(start_rows, await migrations.on_connection(engine, rows.counts)):
        record.fail(script, "downgrade", f"downgrade of {rev} lost rows: {problem}")
    record.step = f"upgrade to {rev} again"
    try:
        await migrations.upgrade(engine, rev)
    except Exception as exc:
        if left:  # what the downgrade left behind is in the way: already reported
            raise _Stop from exc
        raise
    for problem in differences(upgraded, await migrations.on_connection(engine, reflect)):
        record.fail(script, "upgrade", f"after upgrading {rev} again: {problem}")


async def roundtrip(
    url: str, every: list[ScriptFile], chosen: set[str], *, connect_timeout: float = 5.0
) -> tuple[list[Finding], list[str]]:
    """Roundtrip findings for the `chosen` revisions of the chain `every`, and notes."""
    from db.config import DatabaseSettings
    from db.engine import create_engine

    record = _Recorder()
    notes: list[str] = []
    order = [s for s in chain_order(every) if s.revision in chosen]
    async with scratch_database(url, connect_timeout=connect_timeout, notes=notes) as scratch:
        settings = DatabaseSettings(database_url=scratch, db_connect_timeout=connect_timeout)
        engine = create_engine(settings, pooled=False)
        try:
            for script in order:
                try:
                    await _one(engine, script, record)
                except _Stop:
                    notes.append(
                        f"roundtrip stopped at {script.revision}: upgrading it again fails on "
                        "what its downgrade left behind"
                    )
                    break
                except Exception as exc:
                    where = "downgrade" if "downgrade" in record.step else "upgrade"
                    record.fail(
                        script, where, f"{record.step} failed: {_reason(exc)}", step_failed=True
                    )
                    notes.append(
                        f"roundtrip stopped at {script.revision}: the scratch database is in an "
                        "unknown state"
                    )
                    break
        finally:
            await engine.dispose()
    return record.findings, notes
