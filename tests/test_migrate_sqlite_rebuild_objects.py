"""A SQLite table rebuild keeps the rebuilt table's triggers and expression indexes.

Batch mode rebuilds from reflection, which knows neither; `manage` (and plain `alembic` through
env.py) re-creates each one that vanished without an explicit DROP, and rolls back (exit 8,
naming them) when one's SQL no longer applies.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, fetch, manage_env
from tests.migrations_fixtures.extra_revisions import WIDEN_FULL_NAME, shipped_copy

OBJECTS = """
def upgrade() -> None:
    op.execute("CREATE INDEX ix_users_lower_full_name ON users (lower(full_name))")
    op.execute("CREATE INDEX ix_users_nick ON users (email) WHERE full_name IS NOT NULL")
    op.execute(
        "CREATE TRIGGER users_touch AFTER UPDATE OF email ON users BEGIN "
        "UPDATE users SET full_name = 'touched' WHERE id = NEW.id; END"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER users_touch")
    op.execute("DROP INDEX ix_users_nick")
    op.execute("DROP INDEX ix_users_lower_full_name")
"""

DROP_FULL_NAME = """
def upgrade() -> None:
    op.execute("DROP TRIGGER users_touch")
    op.execute('DROP INDEX "ix_users_nick"')  # partial: batch itself would re-create it
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("full_name")


def downgrade() -> None:
    pass
"""

DROP_ON_PURPOSE = """
def upgrade() -> None:
    op.drop_index("ix_users_nick", table_name="users")
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("full_name", existing_type=sa.String(length=255),
                              type_=sa.String(length=300), existing_nullable=True)


def downgrade() -> None:
    pass
"""

NAMES = ["ix_users_lower_full_name", "ix_users_nick", "users_touch"]


@pytest.fixture
def sqlite_url(scratch) -> str:
    return scratch.blank("sqlite")


def _objects(url: str) -> list[str]:
    rows = fetch(
        url,
        "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') "
        "AND tbl_name = 'users' AND sql IS NOT NULL ORDER BY name",
    )
    return [row[0] for row in rows if row[0] in NAMES]


def _chain(cli, url, tmp_path, body: str) -> dict[str, str]:
    copy = shipped_copy(tmp_path, ("x0000001", OBJECTS), ("x0000002", body))
    env = {"MANAGE_MIGRATIONS_DIR": str(copy)}
    assert cli(["migrate", "upgrade", "x0000001"], db=url, env=env).exit_code == 0
    assert _objects(url) == NAMES
    return env


def test_a_rebuild_keeps_triggers_and_expression_indexes(cli, sqlite_url, tmp_path) -> None:
    env = _chain(cli, sqlite_url, tmp_path, WIDEN_FULL_NAME)
    outcome = cli(["migrate", "upgrade"], db=sqlite_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert _objects(sqlite_url) == NAMES
    fetch(
        sqlite_url,
        "INSERT INTO users (id, email, hashed_password, is_active, is_superuser, created_at, "
        "updated_at) VALUES (1, 'a@example.com', 'x', 1, 0, '2026-01-01', '2026-01-01')",
    )
    fetch(sqlite_url, "UPDATE users SET email = 'b@example.com' WHERE id = 1")
    assert fetch(sqlite_url, "SELECT full_name FROM users") == [("touched",)]  # trigger runs


def test_an_intended_drop_stays_dropped(cli, sqlite_url, tmp_path) -> None:
    env = _chain(cli, sqlite_url, tmp_path, DROP_ON_PURPOSE)
    outcome = cli(["migrate", "upgrade"], db=sqlite_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert _objects(sqlite_url) == ["ix_users_lower_full_name", "users_touch"]


def test_an_object_the_rebuild_broke_rolls_back_naming_it(cli, sqlite_url, tmp_path) -> None:
    env = _chain(cli, sqlite_url, tmp_path, DROP_FULL_NAME)
    outcome = cli(["migrate", "upgrade", "--json"], db=sqlite_url, env=env)
    assert outcome.exit_code == 8, outcome.stderr
    document = json.loads(outcome.stdout)
    assert document["error_code"] == "MIGRATION_FAILED"
    assert "index ix_users_lower_full_name (no such column: full_name)" in document["message"]
    assert "the database is still at x0000001" in document["message"]
    assert fetch(sqlite_url, "SELECT version_num FROM alembic_version") == [("x0000001",)]
    assert _objects(sqlite_url) == NAMES
    assert "full_name" in str(fetch(sqlite_url, "SELECT sql FROM sqlite_master WHERE name='users'"))


def test_plain_alembic_keeps_them_too(cli, sqlite_url, tmp_path) -> None:
    env = _chain(cli, sqlite_url, tmp_path, WIDEN_FULL_NAME)
    ini = tmp_path / "alembic.ini"
    ini.write_text(
        (REPO / "alembic.ini")
        .read_text()
        .replace(
            "script_location = %(here)s/migrations",
            f"script_location = {env['MANAGE_MIGRATIONS_DIR']}",
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"],
        env=manage_env(sqlite_url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert fetch(sqlite_url, "SELECT version_num FROM alembic_version") == [("x0000002",)]
    assert _objects(sqlite_url) == NAMES
