"""The SQLite foreign-key check before commit names rows by their key values, counted per key.

Rowids are no key: a table rebuild renumbers them (an old orphan would look new and block every
migration), and a WITHOUT ROWID table reports none (a new orphan would hide behind an old one).
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import fetch
from tests.migrations_fixtures.extra_revisions import CHILDREN, shipped_copy
from tests.test_migrate_rebuild import insert_family

REBUILD_USER_ROLES = """
def upgrade() -> None:
    with op.batch_alter_table("user_roles", recreate="always"):
        pass


def downgrade() -> None:
    pass
"""

TAGS = """
def upgrade() -> None:
    op.execute(
        "CREATE TABLE user_tags (user_id INTEGER NOT NULL REFERENCES users (id), "
        "tag VARCHAR(20) NOT NULL, PRIMARY KEY (user_id, tag)) WITHOUT ROWID"
    )


def downgrade() -> None:
    op.execute("DROP TABLE user_tags")
"""

NEW_TAG_ORPHAN = """
def upgrade() -> None:
    op.execute("INSERT INTO user_tags (user_id, tag) VALUES ({user_id}, 'new')")


def downgrade() -> None:
    pass
"""


@pytest.fixture
def sqlite_url(scratch) -> str:
    return scratch.blank("sqlite")


def _raw(url: str, *statements: str) -> None:
    """Statements on a plain sqlite3 connection: foreign keys off, SQLite's default."""
    with sqlite3.connect(url.split(":///", 1)[1]) as raw:
        for statement in statements:
            raw.execute(statement)


def test_an_old_orphan_in_a_rebuilt_table_is_not_reported_as_new(cli, sqlite_url, tmp_path) -> None:
    copy = shipped_copy(tmp_path, ("c0000001", CHILDREN), ("r0000001", REBUILD_USER_ROLES))
    env = {"MANAGE_MIGRATIONS_DIR": str(copy)}
    assert cli(["migrate", "upgrade", "c0000001"], db=sqlite_url, env=env).exit_code == 0
    insert_family(sqlite_url)
    # The orphan gets rowid 3; with rowid 1 deleted the rebuild's copy renumbers it to 2.
    _raw(
        sqlite_url,
        "INSERT INTO user_roles (user_id, role_id) VALUES (4242, 1)",
        "DELETE FROM user_roles WHERE user_id = 1",
    )
    outcome = cli(["migrate", "upgrade"], db=sqlite_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert fetch(sqlite_url, "SELECT version_num FROM alembic_version") == [("r0000001",)]
    assert sorted(fetch(sqlite_url, "SELECT user_id FROM user_roles")) == [(2,), (4242,)]


@pytest.mark.parametrize("user_id", [4243, 4242], ids=["another key", "the same key"])
def test_a_new_orphan_in_a_without_rowid_table_is_caught_next_to_an_old_one(
    cli, sqlite_url, tmp_path, user_id
) -> None:
    copy = shipped_copy(
        tmp_path,
        ("t0000001", TAGS),
        ("t0000002", NEW_TAG_ORPHAN.replace("{user_id}", str(user_id))),
    )
    env = {"MANAGE_MIGRATIONS_DIR": str(copy)}
    assert cli(["migrate", "upgrade", "t0000001"], db=sqlite_url, env=env).exit_code == 0
    _raw(sqlite_url, "INSERT INTO user_tags (user_id, tag) VALUES (4242, 'old')")
    outcome = cli(["migrate", "upgrade", "--json"], db=sqlite_url, env=env)
    assert outcome.exit_code == 8, outcome.stderr
    document = json.loads(outcome.stdout)
    assert document["error_code"] == "FOREIGN_KEY_VIOLATION"
    assert f"user_tags row (user_id={user_id}) reference missing users" in document["message"]
    assert "the database is still at t0000001" in document["message"]
    assert fetch(sqlite_url, "SELECT version_num FROM alembic_version") == [("t0000001",)]
    assert fetch(sqlite_url, "SELECT user_id, tag FROM user_tags") == [(4242, "old")]


DELETE_A_MEMBER = """
def upgrade() -> None:
    op.execute("DELETE FROM users WHERE id = 1")


def downgrade() -> None:
    pass
"""


def test_a_data_migration_relying_on_cascade_says_to_delete_children_explicitly(
    cli, sqlite_url, tmp_path
) -> None:
    copy = shipped_copy(tmp_path, ("c0000001", CHILDREN), ("d0000001", DELETE_A_MEMBER))
    env = {"MANAGE_MIGRATIONS_DIR": str(copy)}
    assert cli(["migrate", "upgrade", "c0000001"], db=sqlite_url, env=env).exit_code == 0
    insert_family(sqlite_url)
    outcome = cli(["migrate", "upgrade"], db=sqlite_url, env=env)
    assert outcome.exit_code == 8, outcome.stderr
    (line,) = outcome.stderr.strip().splitlines()
    assert "user_roles row (user_id=1) reference missing users" in line
    assert "ON DELETE CASCADE / SET NULL do not fire" in line
    assert "delete (or update) the child rows explicitly" in line
    assert fetch(sqlite_url, "SELECT count(*) FROM users") == [(2,)]
