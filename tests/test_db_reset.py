"""`manage db reset`: drop everything, migrate to head; asks; never in production."""

from __future__ import annotations

import json

from tests.conftest import fetch

PASSWORD = "Corr3ct-Horse-Batt3ry"


def _populate(cli, db_url) -> None:
    cli(
        ["users", "create-superuser", "--email", "root@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        db=db_url,
    )
    fetch(db_url, "CREATE TABLE scratch_notes (id integer primary key)")


def test_reset_drops_everything_and_migrates_to_head(cli, db_url) -> None:
    _populate(cli, db_url)
    outcome = cli(["db", "reset", "--yes", "--json"], db=db_url)
    assert outcome.exit_code == 0, outcome.stderr
    data = json.loads(outcome.stdout)["data"]
    assert {"users", "alembic_version", "scratch_notes"} <= set(data["dropped"])
    assert data["applied"]
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]
    status = json.loads(cli(["migrate", "status", "--json"], db=db_url).stdout)["data"]
    assert status["current"] == status["heads"]
    check = cli(["db", "check", "--json"], db=db_url)
    assert json.loads(check.stdout)["data"]["pending"] == []


def test_reset_without_yes_and_without_a_terminal_is_refused(cli, db_url) -> None:
    _populate(cli, db_url)
    outcome = cli(["db", "reset"], db=db_url)
    assert outcome.exit_code == 7
    assert fetch(db_url, "SELECT count(*) FROM users") == [(1,)]


def test_reset_is_refused_in_production_even_with_yes(cli, db_url) -> None:
    _populate(cli, db_url)
    outcome = cli(["db", "reset", "--yes"], db=db_url, env={"ENVIRONMENT": "production"})
    assert outcome.exit_code == 7
    assert "production" in outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM users") == [(1,)]


def test_reset_on_an_empty_database_just_migrates(cli, blank_db_url) -> None:
    outcome = cli(["db", "reset", "--yes"], db=blank_db_url)
    assert outcome.exit_code == 0, outcome.stderr
    assert "dropped 0 tables" in outcome.stdout
