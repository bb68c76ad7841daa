"""An error line is followed by a one-line hint only where a next step exists."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ScratchDatabases


@pytest.fixture
def sqlite_url(scratch: ScratchDatabases) -> str:
    return scratch.migrated("sqlite")


def test_an_unknown_account_is_followed_by_how_to_find_one(cli, sqlite_url) -> None:
    outcome = cli(["users", "show", "nobody@example.com"], db=sqlite_url)

    assert outcome.exit_code == 3
    assert outcome.stderr.splitlines() == [
        "error: user nobody@example.com not found",
        "`manage users list --search TEXT` finds accounts",
    ]
    as_json = cli(["users", "show", "nobody@example.com", "--json"], db=sqlite_url)
    assert as_json.stderr.splitlines() == ["error: user nobody@example.com not found"]
    assert json.loads(as_json.stdout)["error_code"] == "USER_NOT_FOUND"


def test_an_error_with_no_next_step_is_one_line(cli, sqlite_url) -> None:
    create = ["users", "create", "--email", "ops@example.com", "--password-stdin"]
    assert cli(create, input="Correct-Horse-9\n", db=sqlite_url).exit_code == 0

    again = cli(create, input="Correct-Horse-9\n", db=sqlite_url)

    assert again.exit_code == 4
    assert again.stderr.splitlines() == ["error: user ops@example.com already exists"]


def test_an_unknown_role_is_followed_by_how_to_list_roles(cli, sqlite_url) -> None:
    outcome = cli(["roles", "show", "nope"], db=sqlite_url)

    assert outcome.exit_code == 3
    assert outcome.stderr.splitlines()[1:] == ["`manage roles list` shows the roles"]


@pytest.mark.parametrize("json_output", [False, True])
def test_a_database_migrated_part_way_says_to_upgrade_not_exit_70(
    blank_db_url, json_output
) -> None:
    # Every table exists, but a column a later revision adds does not: `users list` read it
    # and the driver's "no such column" / UndefinedColumnError was exit 70, "a bug in manage".
    import subprocess

    from tests.conftest import MANAGE_BIN, fetch, manage_env

    env = manage_env(blank_db_url)
    first = [str(MANAGE_BIN), "migrate", "upgrade", "3f2d9d9930a0"]
    assert subprocess.run(first, env=env, capture_output=True, timeout=120).returncode == 0
    command = [str(MANAGE_BIN), "users", "list", *(["--json"] if json_output else [])]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120
    )

    assert result.returncode == 6, result.stderr
    line = result.stderr.splitlines()[0]
    assert line.startswith("error: the database schema is behind this code"), result.stderr
    assert "security_stamp" in line and "manage migrate upgrade" in line
    assert len(result.stderr.splitlines()) == 1  # the message names the next step itself
    if json_output:
        assert json.loads(result.stdout)["error_code"] == "DB_UNAVAILABLE"
    assert fetch(blank_db_url, "SELECT version_num FROM alembic_version") == [("3f2d9d9930a0",)]
