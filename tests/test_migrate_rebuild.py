"""SQLite table rebuilds (batch mode) keep every row of every child table.

Batch mode rebuilds a table: create a copy, copy the rows, DROP the original, rename. With
foreign keys enforced, that DROP fires each child's ON DELETE action; `manage` (and plain
`alembic` through env.py) runs SQLite migrations with enforcement off and checks
`PRAGMA foreign_key_check` before committing. PostgreSQL alters in place: the same tests prove
nothing is lost there either.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import REPO, fetch, manage_env, run_async
from tests.migrations_fixtures.extra_revisions import (
    CHILDREN,
    WIDEN_FULL_NAME,
    WIDEN_ROLE_DESCRIPTION,
    shipped_copy,
)

ROWS = {
    "users": 2,
    "roles": 1,
    "role_permissions": 2,
    "user_roles": 2,
    "user_notes": 1,
    "user_tokens": 1,
}
_NOW = "'2026-01-01 00:00:00'"
_DIR = "MANAGE_MIGRATIONS_DIR"


def insert_family(url: str) -> None:
    """Two users, one role with two permissions, both users members, and one row in each
    of the SET NULL and no-action children."""
    for user_id in (1, 2):
        fetch(
            url,
            "INSERT INTO users (id, email, hashed_password, is_active, is_superuser, "
            f"created_at, updated_at) VALUES ({user_id}, 'u{user_id}@example.com', 'x', "
            f"true, false, {_NOW}, {_NOW})",
        )
    fetch(
        url, f"INSERT INTO roles (id, name, description, created_at) VALUES (1, 'ops', '', {_NOW})"
    )
    fetch(url, "INSERT INTO role_permissions VALUES (1, 'users:read'), (1, 'users:write')")
    fetch(url, "INSERT INTO user_roles (user_id, role_id) VALUES (1, 1), (2, 1)")
    fetch(url, "INSERT INTO user_notes (id, user_id) VALUES (1, 1)")
    fetch(url, "INSERT INTO user_tokens (id, user_id) VALUES (1, 2)")


def counts(url: str) -> dict[str, int]:
    return {table: fetch(url, f"SELECT count(*) FROM {table}")[0][0] for table in ROWS}


@pytest.fixture
def family(cli, blank_db_url, tmp_path):
    """The shipped chain + children + two rebuilds; the database stops before the rebuilds,
    with the family of rows in it."""
    copy = shipped_copy(
        tmp_path,
        ("c0000001", CHILDREN),
        ("w0000001", WIDEN_FULL_NAME),
        ("w0000002", WIDEN_ROLE_DESCRIPTION),
    )
    env = {"MANAGE_MIGRATIONS_DIR": str(copy)}
    assert cli(["migrate", "upgrade", "c0000001"], db=blank_db_url, env=env).exit_code == 0
    insert_family(blank_db_url)
    return env


def test_rebuilding_users_and_roles_keeps_every_membership_and_reference(
    cli, blank_db_url, family
) -> None:
    outcome = cli(["migrate", "upgrade", "--json"], db=blank_db_url, env=family)
    assert outcome.exit_code == 0, outcome.stderr
    assert json.loads(outcome.stdout)["data"]["applied"] == ["w0000001", "w0000002"]
    assert counts(blank_db_url) == ROWS
    # The SET NULL child still points at its user; the memberships are the same pairs.
    assert fetch(blank_db_url, "SELECT user_id FROM user_notes") == [(1,)]
    assert fetch(blank_db_url, "SELECT user_id, role_id FROM user_roles ORDER BY 1") == [
        (1, 1),
        (2, 1),
    ]
    # Downgrading rebuilds them again: still nothing lost.
    outcome = cli(["migrate", "downgrade", "c0000001", "--yes"], db=blank_db_url, env=family)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(blank_db_url) == ROWS


def test_foreign_keys_are_enforced_again_after_a_migration(cli, blank_db_url, family) -> None:
    assert cli(["migrate", "upgrade"], db=blank_db_url, env=family).exit_code == 0
    # Deleting a user cascades to its memberships and nulls its notes: enforcement is on.
    fetch(blank_db_url, "DELETE FROM users WHERE id = 1")
    assert fetch(blank_db_url, "SELECT user_id FROM user_roles") == [(2,)]
    assert fetch(blank_db_url, "SELECT user_id FROM user_notes") == [(None,)]


@pytest.mark.parametrize("target", ["head", "o0000001"], ids=["success", "failure"])
def test_the_pooled_migration_connection_goes_back_with_foreign_keys_on(
    blank_db_url, tmp_path, backend, target, monkeypatch
) -> None:
    """`db init` and tests migrate and then keep using the same pooled engine: the connection
    that migrated (enforcement switched off) must come back to the pool switched on."""
    if backend != "sqlite":
        pytest.skip("PRAGMA foreign_keys is SQLite's")
    copy = shipped_copy(tmp_path, ("c0000001", CHILDREN), ("o0000001", ORPHAN))

    async def migrate_then_read() -> list[int]:
        from db import migrations
        from db.config import DatabaseSettings
        from db.engine import create_engine

        engine = create_engine(DatabaseSettings(database_url=blank_db_url))  # pooled
        try:
            await migrations.upgrade(engine, "c0000001")
            await _insert_family(engine)
            try:
                await migrations.upgrade(engine, target)
            except Exception as exc:
                assert type(exc).__name__ == "ForeignKeyViolation"
            seen = []
            for _ in range(3):  # whichever pooled connection comes back
                async with engine.connect() as connection:
                    result = await connection.exec_driver_sql("PRAGMA foreign_keys")
                    seen.append(result.scalar())
            return seen
        finally:
            await engine.dispose()

    monkeypatch.setenv("MANAGE_MIGRATIONS_DIR", str(copy))
    assert run_async(migrate_then_read()) == [1, 1, 1]


async def _insert_family(engine) -> None:
    from sqlalchemy import text

    async with engine.begin() as connection:
        for user_id in (1, 2):
            await connection.execute(
                text(
                    "INSERT INTO users (id, email, hashed_password, created_at, updated_at) "
                    f"VALUES ({user_id}, 'p{user_id}@example.com', 'x', {_NOW}, {_NOW})"
                )
            )
        await connection.execute(
            text(
                f"INSERT INTO roles (id, name, description, created_at) VALUES (1, 'r', '', {_NOW})"
            )
        )


ORPHAN = """
def upgrade() -> None:
    op.execute("INSERT INTO user_roles (user_id, role_id) VALUES (999, 1)")


def downgrade() -> None:
    op.execute("DELETE FROM user_roles WHERE user_id = 999")
"""


def test_a_migration_that_leaves_orphans_rolls_back_naming_table_and_rows(
    cli, blank_db_url, tmp_path, backend
) -> None:
    copy = shipped_copy(tmp_path, ("c0000001", CHILDREN), ("o0000001", ORPHAN))
    env = {"MANAGE_MIGRATIONS_DIR": str(copy)}
    assert cli(["migrate", "upgrade", "c0000001"], db=blank_db_url, env=env).exit_code == 0
    insert_family(blank_db_url)
    outcome = cli(["migrate", "upgrade", "--json"], db=blank_db_url, env=env)
    assert outcome.exit_code == 8, outcome.stderr
    document = json.loads(outcome.stdout)
    assert document["success"] is False
    assert "user_roles" in document["message"]
    assert len(outcome.stderr.strip().splitlines()) == 1
    if backend == "sqlite":
        assert document["error_code"] == "FOREIGN_KEY_VIOLATION"
        assert "row" in document["message"] and "users" in document["message"]
    else:  # PostgreSQL enforces the key in the statement itself: the revision failed
        assert document["error_code"] == "MIGRATION_FAILED"
        assert "o0000001" in document["message"]
    assert fetch(blank_db_url, "SELECT version_num FROM alembic_version") == [("c0000001",)]
    assert fetch(blank_db_url, "SELECT count(*) FROM user_roles WHERE user_id = 999") == [(0,)]
    assert counts(blank_db_url) == ROWS


def test_plain_alembic_upgrade_keeps_every_row_too(blank_db_url, tmp_path, family) -> None:
    ini = tmp_path / "alembic.ini"
    shipped = (REPO / "alembic.ini").read_text()
    ini.write_text(
        shipped.replace(
            "script_location = %(here)s/migrations", f"script_location = {family[_DIR]}"
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"],
        env=manage_env(blank_db_url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert fetch(blank_db_url, "SELECT version_num FROM alembic_version") == [("w0000002",)]
    assert counts(blank_db_url) == ROWS
    fetch(blank_db_url, "DELETE FROM users WHERE id = 1")  # enforcement back on afterwards
    assert fetch(blank_db_url, "SELECT user_id FROM user_notes") == [(None,)]


def test_orphans_from_before_the_migration_do_not_block_it(cli, blank_db_url, family, backend):
    if backend != "sqlite":
        pytest.skip("only SQLite lets a row point nowhere (enforcement is per connection)")
    path = blank_db_url.split(":///", 1)[1]
    with sqlite3.connect(path) as raw:  # foreign keys off: SQLite's default per connection
        raw.execute("INSERT INTO user_tokens (id, user_id) VALUES (7, 4242)")
    outcome = cli(["migrate", "upgrade"], db=blank_db_url, env=family)
    assert outcome.exit_code == 0, outcome.stderr
    assert fetch(blank_db_url, "SELECT version_num FROM alembic_version") == [("w0000002",)]
    assert counts(blank_db_url) == {**ROWS, "user_tokens": 2}
