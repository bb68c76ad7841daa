"""Which revisions to review, and the review itself: rules, graph checks, SQL lint."""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from db.review import settings, sql_lint
from db.review.columns import Schema
from db.review.findings import Allowances, Finding, apply_allowances, finding
from db.review.rules import review_script
from db.review.scripts import ScriptFile, display_path, graph_findings, read_directory
from db.review.sqlite_check import chain_order

Scope = Literal["pending", "all", "range", "file"]
LintState = Literal["ran", "disabled", "unavailable"]


@dataclass
class ReviewedRevision:
    revision: str
    path: str
    message: str


@dataclass
class ReviewReport:
    scope: Scope
    revisions: list[ReviewedRevision]
    findings: list[Finding]  # silenced ones only with --all-findings
    errors: int = 0
    warnings: int = 0
    silenced: int = 0
    sql_lint: LintState = "disabled"
    roundtrip: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def loadable(self) -> bool:
        """False when Alembic cannot load the chain: nothing may run it (SQLite, roundtrip)."""
        return not any(f.rule == "unloadable-chain" for f in self.findings)

    def failed(self, *, strict: bool) -> bool:
        return self.errors > 0 or (strict and self.warnings > 0)


def versions_dir() -> Path:
    from db.migrations import migrations_dir

    return migrations_dir() / "versions"


def scripts() -> list[ScriptFile]:
    return read_directory(versions_dir())


def broken_chain() -> str | None:
    """Why Alembic cannot walk the revisions (a down_revision that does not exist), or None."""
    for item in graph_findings(scripts()):
        if item.rule == "missing-down-revision":
            return item.message
    return None


def unloadable_chain(every: list[ScriptFile]) -> Finding | None:
    """One finding when Alembic cannot load the chain (beyond a missing down_revision, which
    graph_findings reports): a branch label used twice, a .py file without `revision`, no
    env.py. It names the file when the reason does; never blames the innocent revisions."""
    from db.migrations import migrations_dir, script_directory

    if broken_chain() is not None:
        return None
    directory = migrations_dir()
    where, revision = display_path(directory), None
    if not (directory / "env.py").is_file():
        reason = f"no env.py in {display_path(directory)}"
        where = display_path(directory / "env.py")
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                list(script_directory().walk_revisions("base", "heads"))
            return None
        except Exception as exc:
            text = str(getattr(exc, "message", "") or exc).strip().splitlines()
            reason = text[0] if text else type(exc).__name__
        for script in every:  # the file the reason names, by file name or revision id
            named = re.search(rf"\brevision {re.escape(str(script.revision))}\b", reason)
            if script.path.name in reason or named:
                where, revision = script.display, script.revision
                break
        else:
            for path in sorted(versions_dir().glob("*.py")):
                if path.name in reason:
                    where = display_path(path)
                    break
    return finding(
        "unloadable-chain",
        path=where,
        line=None,
        revision=revision,
        message=f"the chain cannot be loaded: {reason}",
    )


def range_revisions(revision_range: str) -> set[str]:
    """Revision ids in START:END (either side may be empty), through Alembic's graph."""
    from db.errors import BadRevision
    from db.migrations import alembic_errors, script_directory

    if ":" not in revision_range:
        raise BadRevision(f"bad range {revision_range!r}: use START:END")
    broken = broken_chain()
    if broken is not None:
        raise BadRevision(f"cannot walk a range: {broken}; review with --all")
    start, _, end = revision_range.partition(":")
    with alembic_errors():
        script = script_directory()
        return {rev.revision for rev in script.walk_revisions(start or "base", end or "heads")}


def _message(script: ScriptFile) -> str:
    doc = ast.get_docstring(script.tree) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _lint_all(
    chosen: list[ScriptFile], report: ReviewReport, config: settings.LintConfig
) -> list[Finding]:
    binary = settings.squawk_binary()
    if binary is None:
        report.sql_lint = "unavailable"
        report.notes.append("squawk is not installed (pip install squawk-cli): SQL lint skipped")
        return []
    from db.migration_sql import offline_sql

    report.sql_lint = "ran"
    found: list[Finding] = []
    problems: dict[str, list[str]] = {}

    def render(span: str) -> str:
        with warnings.catch_warnings():  # Alembic warns, then raises, on a broken chain
            warnings.simplefilter("ignore")
            return offline_sql("upgrade", span, dialect="postgresql")

    for run in sql_lint.linear_runs(chain_order(chosen)):
        try:  # the whole run at once: one render, one squawk
            found.extend(sql_lint.lint_chain(run, render(sql_lint.run_range(run)), binary, config))
            continue
        except Exception:  # one revision that cannot render: lint the others one by one
            pass
        for script in run:
            try:
                found.extend(
                    sql_lint.lint(script, render(sql_lint.run_range([script])), binary, config)
                )
            except Exception as exc:  # a script that needs a live database, a broken chain
                reason = str(getattr(exc, "message", "") or exc).strip().splitlines()
                if isinstance(exc, KeyError):  # Alembic's revision map on a missing revision
                    reason = [f"unknown revision {exc.args[0] if exc.args else ''}".strip()]
                problems.setdefault(reason[0] if reason else type(exc).__name__, []).append(
                    str(script.revision)
                )
    for reason, revisions in problems.items():
        report.notes.append(
            f"SQL lint skipped for {', '.join(revisions)}: could not render offline "
            f"for PostgreSQL ({reason})"
        )
    return found


def review(
    selected: set[str] | None,
    *,
    scope: Scope,
    sql: bool = True,
    all_findings: bool = False,
    only: Path | None = None,
) -> ReviewReport:
    """Review the revisions in `selected` (None: every revision; `only`: one file)."""
    every = scripts()
    if only is not None:
        chosen = [s for s in every if s.path.resolve() == only.resolve()]
    else:
        chosen = [s for s in every if selected is None or s.revision in selected]
    report = ReviewReport(
        scope=scope,
        revisions=[ReviewedRevision(str(s.revision), s.display, _message(s)) for s in chosen],
        findings=[],
    )
    found: list[Finding] = graph_findings(every)
    # One finding for a chain that cannot load: the review's own reading (naming the file
    # and the reason), else what loading the script directory says (broken-revision-file).
    unloadable = unloadable_chain(every)
    if unloadable is None:
        found += _load_findings()
    else:
        found.append(unloadable)
        if sql:
            report.notes.append(
                "SQL lint, SQLite check and roundtrip skipped: the chain cannot be loaded"
            )
        sql = False
    if only is not None:  # `migrate make`: only what concerns the new file
        found = [f for f in found if f.path == chosen[0].display] if chosen else []
    spans: dict[str, dict[int, range]] = {}
    schema = Schema()
    chosen_ids = {s.revision for s in chosen}
    for script in every:
        if script.revision in chosen_ids:
            findings, spans[script.display] = review_script(script, schema)
            found.extend(findings)
        schema.learn_script(script)
    config = review_config()
    report.notes.extend(config.problems)
    if sql:
        found = sql_lint.merge_duplicates([*found, *_lint_all(chosen, report, config)])
    by_path = {s.display: s for s in every}
    for path, group in _group(found).items():
        if path in by_path:
            apply_allowances(group, Allowances.parse(by_path[path].source), spans.get(path, {}))
    finish(report, found, all_findings=all_findings)
    return report


def _load_findings() -> list[Finding]:
    """A revision file Alembic cannot load (what every migrate command refuses, exit 5)."""
    from db.errors import ScriptsBroken
    from db.migrations import script_directory
    from db.review.findings import finding
    from db.review.scripts import display_path

    try:
        script_directory()
    except ScriptsBroken as exc:
        path = display_path(Path(exc.file)) if exc.file else str(versions_dir())
        return [
            finding(
                "broken-revision-file", path=path, line=None, revision=None, message=exc.message
            )
        ]
    return []


def _group(findings: list[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = {}
    for item in findings:
        groups.setdefault(item.path, []).append(item)
    return groups


def review_config() -> settings.LintConfig:
    """`[tool.manage.review]` of the nearest pyproject.toml at or above the scripts directory."""
    return settings.load_config(versions_dir().parent)


def finish(report: ReviewReport, found: list[Finding], *, all_findings: bool) -> None:
    """Add `found` to the report (sorted by file and line) and recount."""
    report.findings.extend(f for f in found if all_findings or not f.silenced)
    report.silenced = report.silenced + sum(f.silenced for f in found)
    recount(report)


def recount(report: ReviewReport) -> None:
    """Sort (by file; within a file, the largest tables first, then by line) and count."""
    report.findings.sort(
        key=lambda f: (
            f.path,
            -f.table_rows if f.table_rows is not None else 1,
            f.line or 0,
            f.rule,
        )
    )
    live = [f for f in report.findings if not f.silenced]
    report.errors = sum(f.severity == "error" for f in live)
    report.warnings = sum(f.severity == "warning" for f in live)
