"""`migrate check --sql` on SQLite never prints an ALTER COLUMN that SQLite cannot run: a change
SQLite cannot ALTER in place is shown as the batch rebuild `migrate make` writes."""

from __future__ import annotations

from tests.migrations_fixtures import DRIFT_MODELS


def test_check_sql_on_sqlite_shows_the_batch_rebuild_make_writes(cli, scratch) -> None:
    url = scratch.migrated("sqlite")
    env = {"MANAGE_TARGET_METADATA": f"{DRIFT_MODELS}:with_wider_full_name"}
    outcome = cli(["migrate", "check", "--sql"], db=url, env=env)
    assert outcome.exit_code == 1, outcome.stderr
    assert "ALTER COLUMN" not in outcome.stdout
    assert "SQLite cannot ALTER this in place: `migrate make` writes a batch rebuild of users" in (
        outcome.stdout
    )
    assert "--       with op.batch_alter_table('users', schema=None) as batch_op:" in outcome.stdout
    assert "ALTER TABLE users ADD COLUMN nickname VARCHAR(50);" in outcome.stdout
    for line in outcome.stdout.splitlines():  # every line is SQL SQLite runs, or a comment
        assert "ALTER COLUMN" not in line


def test_check_sql_on_postgresql_keeps_plain_alter_column(cli, pg_db_url) -> None:
    env = {"MANAGE_TARGET_METADATA": f"{DRIFT_MODELS}:with_wider_full_name"}
    outcome = cli(["migrate", "check", "--sql"], db=pg_db_url, env=env)
    assert outcome.exit_code == 1, outcome.stderr
    assert "ALTER TABLE users ALTER COLUMN full_name TYPE VARCHAR(400);" in outcome.stdout
    assert "batch" not in outcome.stdout
