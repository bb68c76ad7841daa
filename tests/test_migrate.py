"""`manage migrate upgrade|status` and plain `alembic` on the same configuration."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO, fetch, manage_env

TABLES = {"users", "roles", "role_permissions", "user_roles", "audit_log"}


def _head() -> str:
    from db.migrations import script_directory

    return script_directory().get_current_head()


def _tables(url: str) -> set[str]:
    if url.startswith("sqlite"):
        rows = fetch(url, "SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = fetch(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {name for (name,) in rows}


def test_upgrade_reaches_head_and_creates_every_table(cli, blank_db_url) -> None:
    outcome = cli(["migrate", "upgrade"], db=blank_db_url)
    assert outcome.exit_code == 0, outcome.stderr
    assert f"now at {_head()}" in outcome.stdout
    assert fetch(blank_db_url, "SELECT version_num FROM alembic_version") == [(_head(),)]
    assert _tables(blank_db_url) >= TABLES


def test_second_upgrade_has_nothing_to_do(cli, blank_db_url) -> None:
    cli(["migrate", "upgrade"], db=blank_db_url)
    again = cli(["migrate", "upgrade", "--json"], db=blank_db_url)
    assert again.exit_code == 0
    assert json.loads(again.stdout)["data"] == {
        "before": [_head()],
        "after": [_head()],
        "applied": [],
        "reverted": [],
    }


def test_upgrade_as_a_subprocess_reports_applied_revisions(manage_proc, blank_db_url) -> None:
    outcome = manage_proc(["migrate", "upgrade", "--json"], db=blank_db_url)
    assert outcome.exit_code == 0, outcome.stderr
    data = json.loads(outcome.stdout)["data"]
    assert data["before"] == [] and data["after"] == [_head()]
    assert data["applied"][-1] == _head()


def test_plain_alembic_upgrade_head_works_on_the_same_config(blank_db_url) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=REPO,
        env=manage_env(blank_db_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert fetch(blank_db_url, "SELECT version_num FROM alembic_version") == [(_head(),)]
    assert _tables(blank_db_url) >= TABLES


def test_unknown_revision_fails_cleanly_without_traceback(cli, blank_db_url) -> None:
    outcome = cli(["migrate", "upgrade", "deadbeef"], db=blank_db_url)
    assert outcome.exit_code != 0
    assert "Traceback" not in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1


def test_status_shows_pending_then_applied(cli, blank_db_url) -> None:
    before = json.loads(cli(["migrate", "status", "--json"], db=blank_db_url).stdout)["data"]
    assert before["current"] == [] and before["heads"] == [_head()]
    assert all(not rev["applied"] for rev in before["revisions"])
    assert before["revisions"][-1]["is_head"] is True
    assert before["revisions"][0]["created"]
    cli(["migrate", "upgrade"], db=blank_db_url)
    after = cli(["migrate", "status"], db=blank_db_url)
    assert after.exit_code == 0
    assert "up to date" in after.stdout
    assert _head() in after.stdout
