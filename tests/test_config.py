"""`manage config show`: value and source of each setting; secrets masked."""

from __future__ import annotations

import json


def _rows(outcome) -> dict[str, dict]:
    assert outcome.exit_code == 0, outcome.stderr
    return {row["name"]: row for row in json.loads(outcome.stdout)["data"]}


def test_each_setting_names_its_source(cli, tmp_path) -> None:
    (tmp_path / ".env").write_text("PASSWORD_MIN_LENGTH=14\nENVIRONMENT=staging\n")
    rows = _rows(
        cli(["config", "show", "--json"], env={"DB_CONNECT_TIMEOUT": "3", "ENVIRONMENT": "test"})
    )
    assert (rows["DB_CONNECT_TIMEOUT"]["value"], rows["DB_CONNECT_TIMEOUT"]["source"]) == (
        3.0,
        "env",
    )
    assert rows["PASSWORD_MIN_LENGTH"]["value"] == 14
    assert rows["PASSWORD_MIN_LENGTH"]["source"].startswith(".env")
    # the environment beats .env
    assert (rows["ENVIRONMENT"]["value"], rows["ENVIRONMENT"]["source"]) == ("test", "env")
    assert rows["DB_PGBOUNCER"]["source"] == "default"


def test_the_flag_beats_the_environment_and_passwords_are_masked(cli) -> None:
    rows = _rows(
        cli(
            [
                "--database-url",
                "postgresql://app:flag-secret@db:5432/app",
                "config",
                "show",
                "--json",
            ],
            env={
                "DATABASE_URL": "postgresql://app:env-secret@db/app",
                "FIRST_SUPERUSER_PASSWORD": "bootstrap-secret-pw",
            },
        )
    )
    assert rows["DATABASE_URL"]["source"] == "flag"
    assert rows["DATABASE_URL"]["value"] == "postgresql+asyncpg://app:***@db:5432/app"
    assert rows["FIRST_SUPERUSER_PASSWORD"]["value"] == "**********"


def test_no_secret_appears_in_the_table(cli) -> None:
    outcome = cli(
        ["config", "show"],
        env={
            "DATABASE_URL": "postgresql://app:env-secret@db/app",
            "FIRST_SUPERUSER_PASSWORD": "bootstrap-secret-pw",
        },
    )
    assert outcome.exit_code == 0
    assert "env-secret" not in outcome.stdout and "bootstrap-secret-pw" not in outcome.stdout
    assert "DATABASE_URL" in outcome.stdout


def test_a_bad_setting_is_exit_5_naming_it(cli) -> None:
    outcome = cli(["config", "show"], env={"DB_CONNECT_TIMEOUT": "soon"})
    assert outcome.exit_code == 5
    assert "DB_CONNECT_TIMEOUT" in outcome.stderr
