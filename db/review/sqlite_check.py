"""The SQLite check: every reviewed revision upgraded on a throwaway SQLite database.

SQLite is the embedded default every developer runs; PostgreSQL-only code (an ALTER COLUMN
outside batch mode, constraints added with ALTER, raw PostgreSQL SQL, a type SQLite cannot
create) fails there. Offline rendering (`--sql`) is not enough to see it: ALTER COLUMN renders
fine for SQLite and only fails when run, and batch mode (the fix) cannot render offline without
reflecting the table. So the revisions are run for real, oldest first, on a SQLite file in a new
temporary directory (deleted after); the first failure is the finding, pointing at the line of
the operation that raised (from the traceback), else at `def upgrade()`.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from db.review import rows
from db.review.findings import Allowances, Finding, apply_allowances, finding
from db.review.ops import op_calls
from db.review.scripts import ScriptFile


def chain_order(every: list[ScriptFile]) -> list[ScriptFile]:
    """Parents before children (file order among revisions that are ready together)."""
    known = {s.revision for s in every}
    done: set[str | None] = set()
    ordered: list[ScriptFile] = []
    waiting = list(every)
    while waiting:
        ready = [s for s in waiting if all(d in done or d not in known for d in s.down_revisions)]
        if not ready:  # a cycle: nothing sensible to run
            break
        for script in ready:
            ordered.append(script)
            done.add(script.revision)
        waiting = [s for s in waiting if s.revision not in done]
    return ordered


def _frames(exc: BaseException) -> list[tuple[str, int]]:
    """(file, line) of every frame in the exception and the ones it was raised from."""
    found: list[tuple[str, int]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        tb: TracebackType | None = current.__traceback__
        while tb is not None:
            found.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
            tb = tb.tb_next
        current = current.__cause__ or current.__context__
    return found


AUTOCOMMIT_ADVICE = (
    "autocommit_block() cannot run inside the exclusive transaction SQLite migrations hold; "
    "CONCURRENTLY is PostgreSQL-only anyway: put the block under "
    '`if op.get_bind().dialect.name == "postgresql":`'
)
_NO_TABLE = re.compile(r"no such table: (?:main\.)?\"?(\w+)\"?")


def _in_autocommit_block(exc: BaseException) -> bool:
    current: BaseException | None = exc
    while current is not None:
        tb: TracebackType | None = current.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_name == "autocommit_block":
                return isinstance(current, AssertionError)
            tb = tb.tb_next
        current = current.__cause__ or current.__context__
    return False


def missing_table(reason: str, every: list[ScriptFile]) -> str | None:
    """The table a `no such table` failure names when no revision ever creates it: the chain
    depends on something made outside the migrations (a harness artefact, not the revision)."""
    match = _NO_TABLE.search(reason)
    if match is None:
        return None
    name = match.group(1)
    for script in every:
        for call in op_calls(script.function("upgrade"), script.tree):
            if call.name == "create_table" and call.table == name:
                return None
            if call.name == "rename_table" and call.string("new_table_name") == name:
                return None
    return name


def _reason(exc: BaseException) -> str:
    if _in_autocommit_block(exc):
        return AUTOCOMMIT_ADVICE
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for item in chain:  # a DBAPI error: the driver's message and the statement
        orig = getattr(item, "orig", None)
        if orig is not None:
            statement = " ".join(str(getattr(item, "statement", "") or "").split())
            text = str(orig).strip()
            return f"{text} (SQL: {statement[:160]})" if statement else text
    from sqlalchemy.exc import NoSuchTableError

    for item in chain:  # reflection (`autoload_with=`) of a table that is not there
        if isinstance(item, NoSuchTableError):
            return f"no such table: {item}"
    innermost = chain[-1]  # else the innermost error says it best
    lines = str(getattr(innermost, "message", "") or innermost).strip().splitlines()
    return lines[0] if lines else type(innermost).__name__


def _blame(
    exc: BaseException, by_file: dict[str, ScriptFile]
) -> tuple[ScriptFile | None, int | None]:
    """The revision file and line the failure was raised from (the deepest such frame)."""
    culprit: tuple[ScriptFile | None, int | None] = (None, None)
    for filename, line in _frames(exc):
        script = by_file.get(str(Path(filename).resolve()))
        if script is not None:
            culprit = (script, line)
    return culprit


def _operation(script: ScriptFile, line: int | None) -> tuple[str, range | None]:
    """The op call at `line` (`op.alter_column on accounts`) and its statement's lines."""
    for call in op_calls(script.function("upgrade"), script.tree):
        if line is not None and line in call.span:
            return f"op.{call.name}" + (f" on {call.table}" if call.table else ""), call.span
    return "upgrade()", None


class _Rows:
    """Rows between revisions: filled before each, counted after (Alembic's on_version_apply);
    and the rows left pointing nowhere (`PRAGMA foreign_key_check`), which make the real
    `migrate upgrade` roll back (db/sqlite_foreign_keys.py)."""

    def __init__(self, chosen: set[str]) -> None:
        self.chosen = chosen
        self.before: dict[str, int] = {}
        self.orphans: list[Any] = []  # sqlite_foreign_keys.Orphan, by key values
        self.lost: dict[str, list[str]] = {}  # revision -> tables that lost rows

    def start(self, connection: Any) -> None:
        from db import sqlite_foreign_keys

        rows.fill(connection)
        self.before = rows.counts(connection)
        self.orphans = sqlite_foreign_keys.violations(connection)

    def after(self, *, ctx: Any, step: Any, **_: Any) -> None:
        from db import sqlite_foreign_keys

        after = rows.counts(ctx.connection)
        revision = str(step.up_revision_id)
        problems = rows.lost(self.before, after)
        orphans = sqlite_foreign_keys.new_orphans(ctx.connection, self.orphans)
        if orphans:
            problems.append(
                "rows left pointing nowhere (the upgrade rolls back): "
                + sqlite_foreign_keys.describe(orphans)
            )
        if revision in self.chosen and problems:
            self.lost[revision] = problems
        self.start(ctx.connection)


def _run_chain(connection: Any, targets: list[str], tracker: _Rows) -> None:
    """Upgrade to each of `targets` in one Alembic run per target, on this connection."""
    from alembic import command

    from db.migrations import alembic_config

    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    cfg.attributes["on_version_apply"] = tracker.after
    tracker.start(connection)
    for target in targets:
        command.upgrade(cfg, target)


def _lost(script: ScriptFile, problems: list[str], severity: str) -> Finding:
    upgrade = script.function("upgrade")
    line = upgrade.lineno if upgrade is not None else None
    item = finding(
        "sqlite-incompatible",
        path=script.display,
        line=line,
        revision=script.revision,
        message=f"upgrade loses rows on SQLite: {'; '.join(problems)}",
    )
    item.severity = "error" if severity == "error" else "warning"
    item.source = "sqlite"
    if upgrade is not None and line is not None:
        span = range(line, (upgrade.end_lineno or line) + 1)
        apply_allowances([item], Allowances.parse(script.source), {line: span})
    return item


def _failure(
    exc: BaseException,
    script: ScriptFile,
    every: list[ScriptFile],
    chosen: set[str],
    severity: str,
    notes: list[str],
) -> tuple[Finding | None, str]:
    """The finding (or note) for the revision the failure was raised from, and its id."""
    by_file = {str(s.path.resolve()): s for s in every}
    culprit, line = _blame(exc, by_file)
    culprit = culprit or script
    outside = missing_table(_reason(exc), every)
    if outside is not None:
        notes.append(
            f"SQLite check stopped at {culprit.revision}: no revision creates table {outside} "
            "(made outside the migrations?), so the chain cannot be run from an empty database"
        )
        return None, str(culprit.revision)
    if culprit.revision not in chosen:
        notes.append(
            f"SQLite check stopped at {culprit.revision} (not reviewed), which fails on "
            f"SQLite: {_reason(exc)}"
        )
        return None, str(culprit.revision)
    upgrade = culprit.function("upgrade")
    line = line or (upgrade.lineno if upgrade is not None else None)
    operation, span = _operation(culprit, line)
    item = finding(
        "sqlite-incompatible",
        path=culprit.display,
        line=line,
        revision=culprit.revision,
        message=f"{operation} fails on SQLite: {_reason(exc)}",
    )
    item.severity = "error" if severity == "error" else "warning"
    item.source = "sqlite"
    spans = {line: span} if line is not None and span is not None else {}
    apply_allowances([item], Allowances.parse(culprit.source), spans)
    return item, str(culprit.revision)


async def sqlite_check(
    every: list[ScriptFile], chosen: set[str], *, severity: str
) -> tuple[list[Finding], list[str]]:
    """sqlite-incompatible findings for the chosen revisions, and notes.

    The chain runs in one Alembic run (not one per revision: 30 revisions in well under a
    second), with rows put in the tables with foreign keys before each revision.
    """
    from db.config import DatabaseSettings
    from db.engine import create_engine
    from db.migration_lock import migration_lock

    order = chain_order(every)
    wanted = [i for i, s in enumerate(order) if s.revision in chosen]
    if not wanted:
        return [], []
    order = order[: wanted[-1] + 1]
    parents = {d for s in order for d in s.down_revisions}
    targets = [str(s.revision) for s in order if s.revision not in parents]
    findings: list[Finding] = []
    notes: list[str] = []
    tracker = _Rows({str(c) for c in chosen})
    directory = tempfile.mkdtemp(prefix="manage-review-sqlite-")
    try:
        settings = DatabaseSettings(database_url=f"sqlite+aiosqlite:///{directory}/check.db")
        engine = create_engine(settings, pooled=False)
        try:
            async with engine.connect() as connection:
                try:
                    # the real upgrade's SQLite setup: foreign keys off, one exclusive transaction
                    async with migration_lock(connection, timeout=30, settings=settings):
                        await connection.run_sync(_run_chain, targets, tracker)
                except Exception as exc:
                    item, failed = _failure(exc, order[-1], every, chosen, severity, notes)
                    findings.extend([item] if item is not None else [])
                    index = next(
                        (i for i, s in enumerate(order) if s.revision == failed), len(order)
                    )
                    later = [str(s.revision) for s in order[index + 1 :] if s.revision in chosen]
                    if later:
                        notes.append(
                            f"SQLite check: {', '.join(later)} not checked (they come after "
                            f"{failed}, which fails on SQLite)"
                        )
        finally:
            await engine.dispose()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    by_revision = {str(s.revision): s for s in every}
    for revision, problems in tracker.lost.items():
        findings.append(_lost(by_revision[revision], problems, severity))
    return findings, notes
