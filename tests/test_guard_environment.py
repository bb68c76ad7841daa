"""The production guard when ENVIRONMENT is unset: a remote database counts as production.

Decision (docs/operations.md): with ENVIRONMENT unset, DATABASE_URL (or DB_MIGRATION_URL)
pointing at a server other than this machine turns the guard on; SQLite, a Unix socket and
loopback addresses do not. An explicit ENVIRONMENT always wins. The guard runs before any
connection, so these tests need no server at the remote address.
"""

from __future__ import annotations

import pytest

REMOTE = "postgresql://app@db.invalid:5432/app"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("sqlite+aiosqlite:///./app.db", True),
        ("postgresql+asyncpg://postgres@127.0.0.1:5432/app", True),
        ("postgresql+asyncpg://postgres@127.0.0.2/app", True),
        ("postgresql+asyncpg://u:p@localhost/app", True),
        ("postgresql+asyncpg://u:p@[::1]:5432/app", True),
        ("postgresql+asyncpg:///app?host=/var/run/postgresql", True),
        ("postgresql+asyncpg://u:p@db.example.com/app", False),
        ("postgresql+asyncpg://u:p@10.0.0.5/app", False),
        ("postgresql+asyncpg://u:p@localhost.example.com/app", False),
        ("postgresql+asyncpg:///app?host=db.example.com", False),
        ("postgresql+asyncpg://u:p@h1,h2/app", False),
    ],
)
def test_which_database_urls_count_as_this_machine(url, local) -> None:
    from app.config import is_local_database

    assert is_local_database(url) is local


def test_delete_on_a_remote_database_with_environment_unset_needs_force(manage_proc) -> None:
    refused = manage_proc(["users", "delete", "ann@example.com", "--yes"], db=REMOTE)

    assert refused.exit_code == 7
    assert refused.stderr.strip() == (
        "error: refusing to delete user ann@example.com in production without a terminal: "
        "add --force"
    )


def test_db_reset_on_a_remote_database_with_environment_unset_is_refused(manage_proc) -> None:
    refused = manage_proc(["db", "reset", "--yes"], db=REMOTE)

    assert refused.exit_code == 7
    assert "in production" in refused.stderr


@pytest.mark.parametrize("environment", ["development", "test", "staging"])
def test_an_explicit_environment_turns_the_guard_off_for_a_remote_database(
    manage_proc, environment
) -> None:
    # Past the guard, the command tries to connect: db.invalid does not resolve (exit 6).
    outcome = manage_proc(
        ["users", "delete", "ann@example.com", "--yes"],
        db=REMOTE,
        env={"ENVIRONMENT": environment, "DB_CONNECT_TIMEOUT": "2"},
    )
    assert outcome.exit_code == 6, outcome.stderr


def test_a_remote_migration_url_alone_turns_the_guard_on(manage_proc, tmp_path) -> None:
    outcome = manage_proc(
        ["users", "delete", "ann@example.com", "--yes"],
        db=f"sqlite+aiosqlite:///{tmp_path}/app.db",
        env={"DB_MIGRATION_URL": REMOTE},
    )
    assert outcome.exit_code == 7


def test_a_local_database_with_environment_unset_is_not_production(cli, db_url) -> None:
    from tests.api_support import insert_user

    insert_user(db_url, "root@example.com", superuser=True)
    insert_user(db_url, "ann@example.com")
    outcome = cli(["users", "delete", "ann@example.com", "--yes"], db=db_url)
    assert outcome.exit_code == 0, outcome.stderr
