"""`migrate check` (drift between models and database) and `migrate make` (new revisions).

Changed models come from tests/migrations_fixtures/drift_models.py: copies of the shipped
MetaData, named through MANAGE_TARGET_METADATA, so the shared metadata is never touched.
`make` writes into a temporary copy of migrations/ (MANAGE_MIGRATIONS_DIR), never the repo.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, fetch
from tests.migrations_fixtures import CHAIN_HEAD, DRIFT_MODELS

WITH_NICKNAME = {"MANAGE_TARGET_METADATA": f"{DRIFT_MODELS}:with_nickname"}
NICKNAME_DRIFT = [
    "add column users.nickname VARCHAR(50) NULL",
    "add index ix_users_full_name on users (full_name)",  # an index on an existing column
    "add index ix_users_nickname on users (nickname)",
]


def test_check_is_clean_on_the_shipped_models(cli, db_url) -> None:
    outcome = cli(["migrate", "check"], db=db_url)
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert "no drift" in outcome.stdout
    data = json.loads(cli(["migrate", "check", "--json"], db=db_url).stdout)["data"]
    assert data["differences"] == []


def test_check_lists_an_added_column_and_index_and_exits_1(cli, db_url) -> None:
    outcome = cli(["migrate", "check"], db=db_url, env=WITH_NICKNAME)
    assert outcome.exit_code == 1
    listed = [line.strip()[2:] for line in outcome.stdout.splitlines() if line.startswith("  - ")]
    assert listed == NICKNAME_DRIFT
    assert outcome.stderr.strip() == (
        "error: drift: 3 differences between the models and the database"
    )


def test_check_json_lists_each_difference(cli, db_url) -> None:
    outcome = cli(["migrate", "check", "--json"], db=db_url, env=WITH_NICKNAME)
    assert outcome.exit_code == 1
    envelope = json.loads(outcome.stdout)
    assert envelope["success"] is False and envelope["error_code"] == "SCHEMA_DRIFT"
    assert [(d["operation"], d["table"], d["name"]) for d in envelope["data"]["differences"]] == [
        ("add_column", "users", "nickname"),
        ("add_index", "users", "ix_users_full_name"),
        ("add_index", "users", "ix_users_nickname"),
    ]
    assert [d["description"] for d in envelope["data"]["differences"]] == NICKNAME_DRIFT


def test_check_sql_shows_the_statements_that_would_fix_it(cli, db_url) -> None:
    outcome = cli(["migrate", "check", "--sql"], db=db_url, env=WITH_NICKNAME)
    assert outcome.exit_code == 1
    assert "ALTER TABLE users ADD COLUMN nickname VARCHAR(50);" in outcome.stdout
    assert "CREATE INDEX ix_users_nickname ON users (nickname);" in outcome.stdout
    assert "CREATE INDEX ix_users_full_name ON users (full_name);" in outcome.stdout


def test_check_reports_an_index_missing_from_the_database(cli, db_url) -> None:
    fetch(db_url, "DROP INDEX ix_audit_log_action")
    outcome = cli(["migrate", "check"], db=db_url)
    assert outcome.exit_code == 1
    assert "add index ix_audit_log_action on audit_log (action)" in outcome.stdout


@pytest.mark.postgres_only
def test_check_reports_postgresql_enum_labels_autogenerate_ignores(cli, pg_db_url) -> None:
    fetch(pg_db_url, "CREATE TYPE mood AS ENUM ('happy', 'sad')")
    fetch(
        pg_db_url,
        "CREATE TABLE moods (id serial, mood mood NOT NULL, CONSTRAINT pk_moods PRIMARY KEY (id))",
    )
    env = {"MANAGE_TARGET_METADATA": f"{DRIFT_MODELS}:with_mood"}
    outcome = cli(["migrate", "check", "--sql"], db=pg_db_url, env=env)
    assert outcome.exit_code == 1, outcome.stderr
    assert (
        "change labels of enum type mood: database ['happy', 'sad'] -> models "
        "['happy', 'sad', 'meh'] (add ['meh'])"
    ) in outcome.stdout
    assert "ALTER TYPE mood ADD VALUE 'meh' AFTER 'sad';" in outcome.stdout
    assert "1 difference" in outcome.stderr


@pytest.fixture
def scripts(tmp_path: Path) -> dict[str, str]:
    """A temporary copy of migrations/ for `make` to write into."""
    copy = tmp_path / "migrations_copy"
    shutil.copytree(REPO / "migrations", copy, ignore=shutil.ignore_patterns("__pycache__"))
    return {"MANAGE_MIGRATIONS_DIR": str(copy)}


def _versions(env: dict[str, str]) -> set[str]:
    return {p.name for p in (Path(env["MANAGE_MIGRATIONS_DIR"]) / "versions").glob("*.py")}


def test_make_empty_writes_a_date_prefixed_revision_on_top_of_head(cli, scripts) -> None:
    before = _versions(scripts)
    outcome = cli(["migrate", "make", "-m", "Add nickname", "--empty", "--json"], env=scripts)
    assert outcome.exit_code == 0, outcome.stderr
    data = json.loads(outcome.stdout)["data"]
    path = Path(data["path"])
    assert path.exists() and path.parent == Path(scripts["MANAGE_MIGRATIONS_DIR"]) / "versions"
    assert re.fullmatch(r"\d{4}_\d\d_\d\d_\d{4}-[0-9a-f]{12}_add_nickname\.py", path.name)
    assert _versions(scripts) - before == {path.name}
    heads = json.loads(cli(["migrate", "heads", "--json"], env=scripts).stdout)["data"]
    assert [(h["revision"], h["message"]) for h in heads] == [(data["revision"], "Add nickname")]
    assert "import sqlmodel" in path.read_text()


def test_make_refuses_when_the_database_is_not_at_head(cli, blank_db_url, scripts) -> None:
    before = _versions(scripts)
    outcome = cli(["migrate", "make", "-m", "anything"], db=blank_db_url, env=scripts)
    assert outcome.exit_code == 5
    assert "not at head" in outcome.stderr and "manage migrate upgrade" in outcome.stderr
    assert _versions(scripts) == before


def test_make_writes_nothing_when_models_match(cli, db_url, scripts) -> None:
    before = _versions(scripts)
    outcome = cli(["migrate", "make", "-m", "nothing"], db=db_url, env=scripts)
    assert outcome.exit_code == 0, outcome.stderr
    assert "no changes" in outcome.stdout
    assert _versions(scripts) == before


def test_make_autogenerates_a_revision_that_upgrade_then_applies(cli, db_url, scripts) -> None:
    env = {**scripts, **WITH_NICKNAME}
    outcome = cli(["migrate", "make", "-m", "add nickname"], db=db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    path = Path(outcome.stdout.strip().splitlines()[-1].removeprefix("created "))
    assert "add column users.nickname VARCHAR(50) NULL" in outcome.stdout
    source = path.read_text()
    # SQLite renders batch operations (render_as_batch), PostgreSQL plain ones.
    assert "add_column(" in source and "'nickname'" in source and "ix_users_nickname" in source
    assert cli(["migrate", "upgrade"], db=db_url, env=env).exit_code == 0
    assert cli(["migrate", "check"], db=db_url, env=env).exit_code == 0
    fetch(db_url, "SELECT nickname FROM users")


def test_migrations_dir_is_ignored_unless_set(cli, db_url) -> None:
    # Without MANAGE_MIGRATIONS_DIR the shipped scripts are used, never the test chain.
    from alembic.script import ScriptDirectory

    shipped = ScriptDirectory(str(REPO / "migrations")).get_heads()
    data = json.loads(cli(["migrate", "heads", "--json"], db=db_url).stdout)["data"]
    assert [h["revision"] for h in data] == list(shipped)
    assert CHAIN_HEAD not in shipped


@pytest.mark.postgres_only
def test_check_describes_type_nullable_default_and_constraint_changes(cli, pg_db_url) -> None:
    for statement in (
        "ALTER TABLE roles ALTER COLUMN description TYPE varchar(100)",
        "ALTER TABLE users ALTER COLUMN full_name SET NOT NULL",
        "ALTER TABLE users ALTER COLUMN is_active SET DEFAULT false",
        "ALTER TABLE users DROP CONSTRAINT uq_users_email",
    ):
        fetch(pg_db_url, statement)
    outcome = cli(["migrate", "check", "--sql"], db=pg_db_url)
    assert outcome.exit_code == 1
    for line in (
        "change type of roles.description: VARCHAR(100) -> VARCHAR(500) (database -> models)",
        "change nullable of users.full_name: NOT NULL -> NULL (database -> models)",
        "change server default of users.is_active: false -> true (database -> models)",
        "add unique constraint uq_users_email on users (email)",
        "ALTER TABLE users ADD CONSTRAINT uq_users_email UNIQUE (email);",
    ):
        assert line in outcome.stdout
    assert "4 differences" in outcome.stderr
