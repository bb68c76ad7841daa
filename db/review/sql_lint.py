"""SQL lint: each revision's upgrade rendered offline for PostgreSQL, checked by squawk.

squawk (the `squawk-cli` package, a dev dependency) ships a binary; we run it with
`--reporter json` on each revision's SQL and map its findings back to the revision file:
to the line of the `op.execute(...)` whose SQL it flagged, else to `def upgrade`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from db.review.findings import Finding
from db.review.ops import op_calls, string_of
from db.review.scripts import ScriptFile

SQUAWK_DOCS = "https://squawkhq.com/docs/"


DEFAULT_LARGE_TABLE_ROWS = 1_000_000
# Overrides `large_table_rows` of pyproject.toml (for one run, a CI job, a test).
LARGE_TABLE_ENV = "MANAGE_REVIEW_LARGE_TABLE_ROWS"
SQLITE_MODES = ("warn", "error", "off")


@dataclass
class LintConfig:
    """`[tool.manage.review]` in the project's pyproject.toml."""

    squawk_exclude: list[str] = field(default_factory=list)
    pg_version: str | None = None
    source: str | None = None  # the pyproject.toml it came from
    # a lock warning on a table with at least this many rows (PostgreSQL's estimate) is an error
    large_table_rows: int = DEFAULT_LARGE_TABLE_ROWS
    sqlite: str = "warn"  # the sqlite-incompatible finding: "warn", "error" or "off"
    problems: list[str] = field(default_factory=list)  # bad values (reported as notes)


def _rows_setting(value: object, where: str, problems: list[str]) -> int | None:
    try:
        rows = int(str(value).replace("_", ""))
    except ValueError:
        rows = -1
    if isinstance(value, bool) or rows < 0:
        problems.append(
            f"{where} must be a whole number of rows, not {value!r}: "
            f"using {DEFAULT_LARGE_TABLE_ROWS:_}"
        )
        return None
    return rows


def load_config(start: Path) -> LintConfig:
    """The nearest pyproject.toml at or above `start` (the migrations directory)."""
    import tomllib

    config = LintConfig()
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            with candidate.open("rb") as handle:
                table = tomllib.load(handle).get("tool", {}).get("manage", {}).get("review", {})
            config.squawk_exclude = [str(rule) for rule in table.get("squawk_exclude", [])]
            config.pg_version = str(table["pg_version"]) if "pg_version" in table else None
            config.source = str(candidate)
            if "large_table_rows" in table:
                rows = _rows_setting(
                    table["large_table_rows"],
                    "[tool.manage.review] large_table_rows",
                    config.problems,
                )
                config.large_table_rows = rows if rows is not None else config.large_table_rows
            mode = str(table.get("sqlite", "warn")).lower()
            if mode not in SQLITE_MODES:
                config.problems.append(
                    f"[tool.manage.review] sqlite must be one of {', '.join(SQLITE_MODES)}, "
                    f"not {table.get('sqlite')!r}: using warn"
                )
                mode = "warn"
            config.sqlite = mode
            break
    override = os.environ.get(LARGE_TABLE_ENV)
    if override is not None and override.strip():
        rows = _rows_setting(override.strip(), LARGE_TABLE_ENV, config.problems)
        config.large_table_rows = rows if rows is not None else config.large_table_rows
    return config


# The squawk binary to run (a path or a name on PATH); one that does not exist means
# "not installed".
SQUAWK_ENV = "MANAGE_SQUAWK"


def squawk_binary() -> str | None:
    chosen = os.environ.get(SQUAWK_ENV)
    if chosen is not None:
        return chosen if Path(chosen).is_file() else shutil.which(chosen)
    beside = Path(sys.executable).with_name("squawk")  # the venv's, even when not on PATH
    return str(beside) if beside.is_file() else shutil.which("squawk")


def revision_range(script: ScriptFile) -> str | None:
    """FROM:TO for this one revision's upgrade; None for a merge (it runs no operations)."""
    if len(script.down_revisions) > 1:
        return None
    if not script.down_revisions:
        return str(script.revision)
    return f"{script.down_revisions[0]}:{script.revision}"


def _normalize(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip().rstrip(";").lower()


def _line_for(script: ScriptFile, statement: str) -> int | None:
    wanted = _normalize(statement)
    upgrade = script.function("upgrade")
    for call in op_calls(upgrade):
        text = string_of(call.args.get("sqltext")) if call.name == "execute" else None
        if text and _normalize(text) and _normalize(text) in wanted:
            return call.line
    return upgrade.lineno if upgrade is not None else None


def run_squawk(binary: str, sql: str, config: LintConfig, name: str) -> list[dict]:
    args = [binary, "--reporter", "json", "--stdin-filepath", name]
    if config.squawk_exclude:
        args.append("--exclude=" + ",".join(config.squawk_exclude))
    if config.pg_version:
        args.append(f"--pg-version={config.pg_version}")
    proc = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=60)
    try:
        return json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        raise RuntimeError(
            (proc.stderr.strip().splitlines() or ["squawk gave no JSON"])[0]
        ) from None


def _statement(lines: list[str], first: int, last: int) -> str:
    """The whole statement around lines first..last (0-based): from after the previous `;`."""
    start = first
    while start > 0 and not lines[start - 1].rstrip().endswith(";"):
        start -= 1
    end = last
    while end < len(lines) - 1 and not lines[end].rstrip().endswith(";"):
        end += 1
    return " ".join(line.strip() for line in lines[start : end + 1])


def lint(script: ScriptFile, sql: str, binary: str, config: LintConfig) -> list[Finding]:
    """squawk's findings on `sql` (this revision's upgrade) as findings on the revision file."""
    lines = sql.splitlines()
    findings = []
    for item in run_squawk(binary, sql, config, f"{script.revision}.sql"):
        first, last = int(item.get("line", 0)), int(item.get("line_end", item.get("line", 0)))
        flagged = " ".join(line.strip() for line in lines[first : last + 1])
        statement = _statement(lines, first, last)
        if "alembic_version" in statement:  # Alembic's bookkeeping, not the migration
            continue
        rule = str(item.get("rule_name", "unknown"))
        findings.append(
            Finding(
                rule=f"squawk:{rule}",
                severity="error" if str(item.get("level", "")).lower() == "error" else "warning",
                path=script.display,
                line=_line_for(script, statement),
                revision=script.revision,
                message=f"{item.get('message', '')} (SQL: {flagged[:160]})",
                why=f"squawk rule {rule}; see {SQUAWK_DOCS}{rule}",
                fix=str(item.get("help") or f"see {SQUAWK_DOCS}{rule}"),
                source="squawk",
            )
        )
    return findings
