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

import shutil
import tempfile
from pathlib import Path
from types import TracebackType

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


def _reason(exc: BaseException) -> str:
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
    for call in op_calls(script.function("upgrade")):
        if line is not None and line in call.span:
            return f"op.{call.name}" + (f" on {call.table}" if call.table else ""), call.span
    return "upgrade()", None


async def sqlite_check(
    every: list[ScriptFile], chosen: set[str], *, severity: str
) -> tuple[list[Finding], list[str]]:
    """sqlite-incompatible findings for the chosen revisions, and notes."""
    from db import migrations
    from db.config import DatabaseSettings
    from db.engine import create_engine

    order = chain_order(every)
    wanted = [i for i, s in enumerate(order) if s.revision in chosen]
    if not wanted:
        return [], []
    order = order[: wanted[-1] + 1]
    by_file = {str(s.path.resolve()): s for s in every}
    findings: list[Finding] = []
    notes: list[str] = []
    directory = tempfile.mkdtemp(prefix="manage-review-sqlite-")
    try:
        engine = create_engine(
            DatabaseSettings(database_url=f"sqlite+aiosqlite:///{directory}/check.db"),
            pooled=False,
        )
        try:
            for index, script in enumerate(order):
                try:
                    await migrations.upgrade(engine, str(script.revision))
                except Exception as exc:
                    culprit, line = _blame(exc, by_file)
                    culprit = culprit or script
                    if culprit.revision in chosen:
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
                        findings.append(item)
                    else:
                        notes.append(
                            f"SQLite check stopped at {culprit.revision} (not reviewed), "
                            f"which fails on SQLite: {_reason(exc)}"
                        )
                    later = [s.revision for s in order[index + 1 :] if s.revision in chosen]
                    if later:
                        notes.append(
                            f"SQLite check: {', '.join(map(str, later))} not checked "
                            f"(they come after {culprit.revision}, which fails on SQLite)"
                        )
                    break
        finally:
            await engine.dispose()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return findings, notes
