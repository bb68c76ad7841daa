"""A database stamped with a revision these scripts do not have (the application was rolled
back after a newer release migrated it) is exit 5 saying so, for every command that reads
the revision, and nothing is changed: not Alembic's "Can't locate revision identified by"
that reads like a typo in an argument."""

from __future__ import annotations

import pytest

from tests.conftest import fetch

SAID = (
    "error: the database is at revision feedface0001, which these migration scripts do not "
    "have (a newer release of the code applied it, or other scripts did): run the code that "
    "has it, or see docs/migrations.md (Unknown revision in the database)"
)


@pytest.mark.parametrize(
    "command",
    [
        ["migrate", "upgrade"],
        ["migrate", "status"],
        ["migrate", "downgrade", "-1", "--yes"],
        ["migrate", "stamp", "head", "--yes"],
        ["db", "check"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_a_revision_from_newer_code_is_exit_5_naming_it_and_changes_nothing(
    manage_proc, db_url, command
) -> None:
    fetch(db_url, "UPDATE alembic_version SET version_num = 'feedface0001'")
    outcome = manage_proc(command, db=db_url)
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.splitlines() == [SAID]
    assert fetch(db_url, "SELECT version_num FROM alembic_version") == [("feedface0001",)]


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["migrate", "upgrade", "+1"], "+1 goes past head: fewer than 1 revision(s) lie that way"),
        (
            ["migrate", "downgrade", "-99", "--yes"],
            "-99 goes past base: fewer than 99 revision(s) lie that way",
        ),
    ],
    ids=["upgrade +1 at head", "downgrade -99"],
)
def test_a_relative_step_past_the_end_of_the_chain_says_so(cli, db_url, command, said) -> None:
    """Alembic says "Relative revision +1 didn't produce 1 migrations"."""
    before = fetch(db_url, "SELECT version_num FROM alembic_version")
    outcome = cli(command, db=db_url)
    assert outcome.exit_code == 5
    assert outcome.stderr.splitlines() == [
        f"error: {said} (`manage migrate status` shows where the database is)"
    ]
    assert fetch(db_url, "SELECT version_num FROM alembic_version") == before
