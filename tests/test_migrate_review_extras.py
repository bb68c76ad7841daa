"""`manage migrate review`: lock risk by table size, and the SQLite check (sqlite-incompatible).

Table sizes need a PostgreSQL database the test fills and ANALYZEs (so pg_class.reltuples is
set); the threshold comes from the scripts directory's pyproject.toml or
MANAGE_REVIEW_LARGE_TABLE_ROWS. The SQLite check needs no database.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import fetch
from tests.review_support import findings, scripts_dir


def _configure(env: dict[str, str], *lines: str) -> None:
    """Add settings to the `[tool.manage.review]` table of the scripts directory's pyproject."""
    pyproject = Path(env["MANAGE_MIGRATIONS_DIR"]) / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8") + "".join(f"{line}\n" for line in lines),
        encoding="utf-8",
    )


def _fill(url: str, table: str, rows: int, column: str) -> None:
    values = "'e' || g" if column == "email" else "'k'"
    fetch(url, f"INSERT INTO {table} ({column}) SELECT {values} FROM generate_series(1, {rows}) g")
    fetch(url, f"ANALYZE {table}")


@pytest.fixture
def filled(cli, postgres_available, scratch, tmp_path):
    """A PostgreSQL database at r0accounts with 300 analyzed rows in accounts."""
    url = scratch.blank("postgresql")
    env = scripts_dir(tmp_path, "set_not_null")
    assert cli(["migrate", "upgrade", "r0accounts"], db=url, env=env).exit_code == 0
    _fill(url, "accounts", 300, "email")
    return url, env


def _lock(outcome, rule: str) -> dict:
    [hit] = [f for f in findings(outcome) if f["rule"] == rule]
    return hit


def test_a_lock_warning_on_a_table_over_large_table_rows_is_an_error(cli, filled) -> None:
    url, env = filled
    _configure(env, "large_table_rows = 200")
    outcome = cli(["migrate", "review", "--no-sql-lint", "--json"], db=url, env=env)
    assert outcome.exit_code == 1, outcome.stdout
    hit = _lock(outcome, "set-not-null")
    assert hit["severity"] == "error"
    assert (hit["table"], hit["table_rows"]) == ("accounts", 300)
    assert hit["table_bytes"] > 0
    assert "large_table_rows (200)" in hit["why"]

    outcome = cli(["migrate", "review", "--no-sql-lint"], db=url, env=env)
    assert outcome.exit_code == 1
    assert "error [set-not-null] sets accounts.name NOT NULL" in outcome.stdout
    assert "    table: accounts: ~300 rows, " in outcome.stdout


def test_below_the_threshold_it_stays_a_warning_with_the_figure(cli, filled) -> None:
    url, env = filled
    _configure(env, "large_table_rows = 200")
    override = {**env, "MANAGE_REVIEW_LARGE_TABLE_ROWS": "1_000"}  # the variable wins
    outcome = cli(["migrate", "review", "--no-sql-lint", "--json"], db=url, env=override)
    assert outcome.exit_code == 0, outcome.stdout
    hit = _lock(outcome, "set-not-null")
    assert (hit["severity"], hit["table_rows"]) == ("warning", 300)
    # the default threshold is a million rows
    outcome = cli(["migrate", "review", "--no-sql-lint"], db=url, env=scripts_dir(Path.cwd()))
    assert outcome.exit_code == 0


def test_within_a_revision_the_largest_table_comes_first(
    cli, postgres_available, scratch, tmp_path
) -> None:
    url = scratch.blank("postgresql")
    env = scripts_dir(tmp_path, "ranked_base", "ranked_locks")
    assert cli(["migrate", "upgrade", "ranked_base"], db=url, env=env).exit_code == 0
    _fill(url, "accounts", 50, "email")
    _fill(url, "events", 400, "kind")
    outcome = cli(["migrate", "review", "--no-sql-lint", "--json"], db=url, env=env)
    assert outcome.exit_code == 0, outcome.stdout
    hits = [f for f in findings(outcome) if f["rule"] == "index-not-concurrent"]
    assert [(f["table"], f["table_rows"], f["line"]) for f in hits] == [
        ("events", 400, 17),
        ("accounts", 50, 16),
    ]


def test_no_figure_on_sqlite_or_without_a_database(cli, scratch, tmp_path) -> None:
    url = scratch.blank("sqlite")
    env = scripts_dir(tmp_path, "set_not_null")
    _configure(env, "large_table_rows = 0")  # everything would be large
    assert cli(["migrate", "upgrade", "r0accounts"], db=url, env=env).exit_code == 0
    outcome = cli(["migrate", "review", "--no-sql-lint", "--json"], db=url, env=env)
    assert outcome.exit_code == 0, outcome.stdout
    hit = _lock(outcome, "set-not-null")
    assert (hit["severity"], hit["table_rows"], hit["table_bytes"]) == ("warning", None, None)
    assert json.loads(outcome.stdout)["data"]["notes"] == []

    nowhere = "postgresql://postgres@127.0.0.1:1/nowhere"
    outcome = cli(["migrate", "review", "--all", "--no-sql-lint", "--json"], db=nowhere, env=env)
    assert outcome.exit_code == 0, outcome.stdout
    hit = _lock(outcome, "set-not-null")
    assert (hit["severity"], hit["table_rows"]) == ("warning", None)
    [note] = json.loads(outcome.stdout)["data"]["notes"]
    assert note.startswith("table sizes unknown (database unavailable")
    # the default (pending) scope: one failed connection, two notes
    outcome = cli(["migrate", "review", "--no-sql-lint", "--json"], db=nowhere, env=env)
    assert outcome.exit_code == 0, outcome.stdout
    notes = json.loads(outcome.stdout)["data"]["notes"]
    assert "reviewing all" in notes[0] and notes[1].startswith("table sizes unknown (database")


def test_a_table_that_does_not_exist_yet_has_no_figure(cli, postgres_available, scratch, tmp_path):
    url = scratch.blank("postgresql")  # nothing applied: accounts does not exist yet
    env = scripts_dir(tmp_path, "set_not_null")
    _configure(env, "large_table_rows = 0")
    outcome = cli(["migrate", "review", "--no-sql-lint", "--json"], db=url, env=env)
    assert outcome.exit_code == 0, outcome.stdout
    assert _lock(outcome, "set-not-null")["table_rows"] is None
    assert json.loads(outcome.stdout)["data"]["notes"] == []


def test_a_postgresql_only_revision_is_sqlite_incompatible(cli, tmp_path) -> None:
    env = scripts_dir(tmp_path, "sqlite_pg_only")
    outcome = cli(["migrate", "review", "--all", "--json"], env=env)
    assert outcome.exit_code == 0, outcome.stdout  # a warning
    hit = _lock(outcome, "sqlite-incompatible")
    assert hit["severity"] == "warning" and hit["source"] == "sqlite"
    assert hit["path"].endswith("versions/sqlite_pg_only.py") and hit["line"] == 16
    assert hit["message"].startswith("op.create_check_constraint on accounts fails on SQLite: ")
    assert "ALTER of constraints" in hit["message"]
    assert "batch_alter_table" in hit["fix"] and "with_variant" in hit["fix"]
    assert 'dialect.name == "postgresql"' in hit["fix"]

    outcome = cli(["migrate", "review", "--all", "--strict"], env=env)
    assert outcome.exit_code == 1
    assert "sqlite_pg_only.py:16: warning [sqlite-incompatible] op.create_check_constraint" in (
        outcome.stdout
    )
    assert not list(tmp_path.glob("**/check.db"))  # the throwaway database is gone


def test_an_alter_column_outside_batch_mode_is_sqlite_incompatible(cli, tmp_path) -> None:
    env = scripts_dir(tmp_path, "set_not_null")
    outcome = cli(["migrate", "review", "--all", "--json"], env=env)
    hit = _lock(outcome, "sqlite-incompatible")
    assert hit["line"] == 17
    assert (
        'op.alter_column on accounts fails on SQLite: near "ALTER": syntax error'
        in (hit["message"])
    )


def test_portable_revisions_are_not_sqlite_incompatible(cli, tmp_path) -> None:
    # a dialect guard, and batch mode (alter_type runs its ALTER in batch_alter_table)
    env = scripts_dir(tmp_path, "sqlite_guarded")
    outcome = cli(["migrate", "review", "--all", "--strict"], env=env)
    assert outcome.exit_code == 0, outcome.stdout
    assert "reviewed 2 revisions: no findings" in outcome.stdout
    env = scripts_dir(tmp_path, "alter_type")
    outcome = cli(["migrate", "review", "--all", "--json"], env=env)
    assert "sqlite-incompatible" not in {f["rule"] for f in findings(outcome)}


def test_the_sqlite_setting_turns_it_off_or_into_an_error(cli, tmp_path) -> None:
    env = scripts_dir(tmp_path, "sqlite_pg_only")
    _configure(env, 'sqlite = "off"')
    outcome = cli(["migrate", "review", "--all", "--strict"], env=env)
    assert outcome.exit_code == 0, outcome.stdout
    assert "sqlite-incompatible" not in outcome.stdout

    env = scripts_dir(tmp_path, "sqlite_pg_only")
    _configure(env, 'sqlite = "error"')
    outcome = cli(["migrate", "review", "--all", "--json"], env=env)
    assert outcome.exit_code == 1
    assert _lock(outcome, "sqlite-incompatible")["severity"] == "error"

    env = scripts_dir(tmp_path, "sqlite_pg_only")
    _configure(env, 'sqlite = "sometimes"')
    outcome = cli(["migrate", "review", "--all", "--json"], env=env)
    data = json.loads(outcome.stdout)["data"]
    assert "[tool.manage.review] sqlite must be one of warn, error, off" in data["notes"][0]
    assert _lock(outcome, "sqlite-incompatible")["severity"] == "warning"


def test_no_sql_lint_skips_the_sqlite_check_and_allow_comments_silence_it(cli, tmp_path):
    env = scripts_dir(tmp_path, "sqlite_pg_only")
    outcome = cli(["migrate", "review", "--all", "--no-sql-lint", "--strict"], env=env)
    assert outcome.exit_code == 0, outcome.stdout

    script = Path(env["MANAGE_MIGRATIONS_DIR"]) / "versions" / "sqlite_pg_only.py"
    script.write_text(
        script.read_text(encoding="utf-8").replace(
            "postgresql_not_valid=True\n",
            "postgresql_not_valid=True  # manage: allow sqlite-incompatible PostgreSQL only\n",
        ),
        encoding="utf-8",
    )
    outcome = cli(["migrate", "review", "--all", "--strict", "--all-findings", "--json"], env=env)
    assert outcome.exit_code == 0, outcome.stdout
    [hit] = [f for f in findings(outcome, silenced=True) if f["rule"] == "sqlite-incompatible"]
    assert hit["silenced"] and hit["reason"] == "PostgreSQL only"


def test_backfills_and_squawk_findings_are_ranked_by_table_size_too(
    cli, postgres_available, scratch, tmp_path
) -> None:
    url = scratch.blank("postgresql")
    env = scripts_dir(tmp_path, "backfill")
    assert cli(["migrate", "upgrade", "r0accounts"], db=url, env=env).exit_code == 0
    _fill(url, "accounts", 300, "email")
    _configure(env, "large_table_rows = 200")
    outcome = cli(["migrate", "review", "--json"], db=url, env=env)
    hit = _lock(outcome, "backfill")
    assert (hit["severity"], hit["table"], hit["table_rows"]) == ("error", "accounts", 300)
    assert hit["line"] == 16
    [squawk] = [f for f in findings(outcome) if f["source"] == "squawk"]
    assert (squawk["line"], squawk["table"], squawk["table_rows"]) == (17, "accounts", 300)
