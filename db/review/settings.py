"""`[tool.manage.review]` of the project's pyproject.toml (squawk exclusions, PostgreSQL
version, the large-table threshold, the SQLite check's mode) and which squawk binary to run.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

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
