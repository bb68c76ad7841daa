"""`manage migrate review` with a database: pending revisions, --roundtrip, `migrate make`.

Runs on SQLite and PostgreSQL (the `backend` fixture); fixtures from tests/review_fixtures.
"""

from __future__ import annotations

import json
import shutil

from tests.conftest import REPO
from tests.migrations_fixtures import DRIFT_MODELS
from tests.review_support import findings, scripts_dir


def test_by_default_only_the_pending_revisions_are_reviewed(cli, blank_db_url, tmp_path) -> None:
    env = scripts_dir(tmp_path, "drop_column")
    outcome = cli(["migrate", "review", "--no-sql-lint", "--json"], db=blank_db_url, env=env)
    data = json.loads(outcome.stdout)["data"]
    assert data["scope"] == "pending"
    assert [r["revision"] for r in data["revisions"]] == ["r0accounts", "fire_drop_column"]
    assert outcome.exit_code == 1  # drop-column is an error

    assert cli(["migrate", "upgrade"], db=blank_db_url, env=env).exit_code == 0
    outcome = cli(["migrate", "review", "--no-sql-lint"], db=blank_db_url, env=env)
    assert outcome.exit_code == 0, outcome.stdout
    assert "no pending revisions to review (use --all or a RANGE)" in outcome.stdout


def test_pending_after_a_partial_upgrade(cli, blank_db_url, tmp_path) -> None:
    env = scripts_dir(tmp_path, "set_not_null")
    assert cli(["migrate", "upgrade", "r0accounts"], db=blank_db_url, env=env).exit_code == 0
    outcome = cli(["migrate", "review", "--json"], db=blank_db_url, env=env)
    data = json.loads(outcome.stdout)["data"]
    assert [r["revision"] for r in data["revisions"]] == ["fire_set_not_null"]
    assert {f["rule"] for f in findings(outcome)} >= {"set-not-null"}


def test_with_no_database_reachable_it_says_so_and_reviews_everything(cli, tmp_path) -> None:
    env = scripts_dir(tmp_path, "clean")
    outcome = cli(
        ["migrate", "review", "--no-sql-lint"],
        db="postgresql://postgres@127.0.0.1:1/nowhere",
        env=env,
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert "database unavailable" in outcome.stderr and "reviewing all" in outcome.stderr
    assert "reviewed 2 revisions: no findings" in outcome.stdout
    # no database configured at all: the default SQLite file is not created
    outcome = cli(["migrate", "review", "--no-sql-lint", "--json"], env=env)
    data = json.loads(outcome.stdout)["data"]
    assert data["scope"] == "pending" and "every revision is pending" in data["notes"][0]
    assert not (tmp_path / "app.db").exists()


def _scratch_databases(url: str) -> list[str]:
    from tests.test_migrate_review_roundtrip import own_scratch_databases

    return own_scratch_databases(url)


def test_roundtrip_catches_a_downgrade_that_forgets_an_index(cli, blank_db_url, tmp_path) -> None:
    env = scripts_dir(tmp_path, "forgot_index")
    outcome = cli(
        ["migrate", "review", "--all", "--roundtrip", "--no-sql-lint", "--json"],
        db=blank_db_url,
        env=env,
    )
    assert outcome.exit_code == 1, outcome.stdout
    data = json.loads(outcome.stdout)["data"]
    assert data["roundtrip"] is True
    hits = [f for f in findings(outcome) if f["rule"] == "roundtrip"]
    messages = " | ".join(f["message"] for f in hits)
    assert "after downgrade of fire_forgot_index: index accounts.ix_accounts_name" in messages
    assert "left over" in messages
    assert all(f["severity"] == "error" and f["revision"] == "fire_forgot_index" for f in hits)
    assert _scratch_databases(blank_db_url) == []  # the scratch database was dropped
    # the configured database itself was never touched
    assert cli(["migrate", "current", "--json"], db=blank_db_url, env=env).exit_code == 0
    current = json.loads(cli(["migrate", "current", "--json"], db=blank_db_url, env=env).stdout)
    assert current["data"]["current"] == []


def test_roundtrip_passes_when_the_downgrade_undoes_everything(cli, blank_db_url, tmp_path) -> None:
    env = scripts_dir(tmp_path, "forgot_index_safe")
    outcome = cli(
        ["migrate", "review", "--all", "--roundtrip", "--no-sql-lint"], db=blank_db_url, env=env
    )
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert "[roundtrip]" not in outcome.stdout
    assert "reviewed 2 revisions: no findings" in outcome.stdout
    assert _scratch_databases(blank_db_url) == []


def test_make_reviews_the_file_it_writes(cli, tmp_path) -> None:
    """An empty revision changes nothing, so its `pass` downgrade is right: no finding."""
    env = scripts_dir(tmp_path, "clean")
    outcome = cli(["migrate", "make", "-m", "nothing yet", "--empty"], env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert "created " in outcome.stdout
    assert "[empty-downgrade]" not in outcome.stderr
    assert "review:" not in outcome.stderr
    # --json: stdout stays one JSON document
    outcome = cli(["migrate", "make", "-m", "again", "--empty", "--json"], env=env)
    assert json.loads(outcome.stdout)["success"] is True


def test_a_broken_chain_falls_back_to_reviewing_everything(cli, blank_db_url, tmp_path) -> None:
    env = scripts_dir(tmp_path, "orphan")
    outcome = cli(["migrate", "review", "--no-sql-lint"], db=blank_db_url, env=env)
    assert outcome.exit_code == 1
    assert "cannot tell the pending revisions" in outcome.stderr
    assert "[missing-down-revision] down_revision 'deadbeefcafe'" in outcome.stdout


def test_make_reviews_an_autogenerated_revision(cli, db_url, tmp_path) -> None:
    """Autogenerate adds an index on an existing column: the review says it blocks writes."""
    copy = tmp_path / "migrations_copy"
    shutil.copytree(REPO / "migrations", copy, ignore=shutil.ignore_patterns("__pycache__"))
    env = {
        "MANAGE_MIGRATIONS_DIR": str(copy),
        "MANAGE_TARGET_METADATA": f"{DRIFT_MODELS}:with_nickname",
    }
    outcome = cli(["migrate", "make", "-m", "add nickname"], db=db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.strip().splitlines()[-1].startswith("created ")
    assert "[index-not-concurrent] creates ix_users_full_name on users" in outcome.stderr


def test_roundtrip_catches_an_enum_type_that_outlives_its_table(
    cli, postgres_available, scratch, tmp_path
) -> None:
    url = scratch.blank("postgresql")
    env = scripts_dir(tmp_path, "enum_table")
    outcome = cli(["migrate", "review", "--all", "--roundtrip", "--json"], db=url, env=env)
    assert outcome.exit_code == 1
    [hit] = [f for f in findings(outcome) if f["rule"] == "roundtrip"]
    assert 'type "mood" already exists' in hit["message"]
    assert _scratch_databases(url) == []
