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
