"""`config show` shows a bad value instead of failing on it, masked; timeout settings are
range-checked: a value PostgreSQL cannot take is exit 5, a tiny positive one is rounded up to
1 ms (never 0, which PostgreSQL reads as "no timeout")."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_async


def test_config_show_lists_a_bad_url_masked_with_its_problem_and_exits_5(cli) -> None:
    url = "postgresql://ops:hunter2@db:fivefour/app?password=hunter3"
    outcome = cli(["config", "show", "--json"], env={"DATABASE_URL": url})
    assert outcome.exit_code == 5
    envelope = json.loads(outcome.stdout)
    assert (envelope["success"], envelope["error_code"]) == (False, "INVALID_INPUT")
    rows = {row["name"]: row for row in envelope["data"]}
    assert rows["DATABASE_URL"]["value"] == "postgresql://ops:***@db:fivefour/app?password=***"
    assert rows["DATABASE_URL"]["problem"] == "the port 'fivefour' is not a number"
    assert rows["DB_CONNECT_TIMEOUT"] == {
        "name": "DB_CONNECT_TIMEOUT",
        "value": 5.0,
        "source": "default",
        "problem": None,
    }
    assert outcome.stderr.splitlines() == [
        "error: invalid setting DATABASE_URL: the port 'fivefour' is not a number"
    ]
    assert "hunter" not in outcome.stdout + outcome.stderr


def test_config_show_table_names_every_bad_setting_and_hides_passwords(cli) -> None:
    outcome = cli(
        ["config", "show"],
        env={
            "DATABASE_URL": "postgresql://ops:hunter2@db/app?sslmode=bogus",
            "DB_STATEMENT_TIMEOUT": "nan",
            "FIRST_SUPERUSER_PASSWORD": "hunter4-bootstrap",
        },
    )
    assert outcome.exit_code == 5
    assert "DB_STATEMENT_TIMEOUT" in outcome.stdout and "nan" in outcome.stdout
    assert "bogus" in outcome.stdout
    assert "hunter" not in outcome.stdout + outcome.stderr
    (line,) = outcome.stderr.splitlines()
    assert "DATABASE_URL: parameter 'sslmode'" in line and "DB_STATEMENT_TIMEOUT" in line


def test_a_bad_flag_url_is_shown_as_the_flags_value(cli) -> None:
    outcome = cli(
        ["--database-url", "sqlite+aiosqlite://app.db", "config", "show", "--json"],
    )
    assert outcome.exit_code == 5
    rows = {row["name"]: row for row in json.loads(outcome.stdout)["data"]}
    assert rows["DATABASE_URL"]["source"] == "flag"
    assert rows["DATABASE_URL"]["problem"].startswith("a SQLite URL has no host")


@pytest.mark.parametrize(
    "name",
    [
        "DB_STATEMENT_TIMEOUT",
        "DB_LOCK_TIMEOUT",
        "MIGRATION_LOCK_TIMEOUT",
        "MIGRATION_STATEMENT_TIMEOUT",
        "DB_CONNECT_TIMEOUT",
        "DB_COMMAND_TIMEOUT",
        "MIGRATION_COMMAND_TIMEOUT",
        "DB_SQLITE_BUSY_TIMEOUT",
    ],
)
@pytest.mark.parametrize("value", ["2147484", "1e12", "inf", "nan", "-1", "ten"])
def test_a_timeout_no_database_can_take_is_exit_5_naming_it(cli, name, value) -> None:
    outcome = cli(["users", "list", "--json"], env={name: value})
    assert outcome.exit_code == 5, outcome.stderr
    (line,) = outcome.stderr.splitlines()
    assert line.startswith(f"error: invalid setting {name}: ")
    assert json.loads(outcome.stdout)["error_code"] == "INVALID_INPUT"


@pytest.mark.parametrize("name", ["DB_STATEMENT_TIMEOUT", "DB_LOCK_TIMEOUT", "DB_CONNECT_TIMEOUT"])
def test_zero_is_refused_where_it_would_mean_no_timeout(cli, name) -> None:
    outcome = cli(["users", "list"], env={name: "0"})
    assert outcome.exit_code == 5
    assert name in outcome.stderr


def _server_timeouts(url: str, **settings: float) -> list[tuple]:
    from sqlalchemy import text

    from db.config import DatabaseSettings
    from db.engine import create_engine

    async def go() -> list[tuple]:
        engine = create_engine(DatabaseSettings(database_url=url, **settings), pooled=False)
        try:
            async with engine.connect() as conn:
                result = await conn.execute(
                    text(
                        "SELECT current_setting('statement_timeout'), "
                        "current_setting('lock_timeout')"
                    )
                )
                return [tuple(row) for row in result]
        finally:
            await engine.dispose()

    return run_async(go())


def test_a_tiny_positive_timeout_reaches_postgresql_as_1ms_never_0(pg_db_url) -> None:
    # lock_timeout: a 1 ms statement_timeout would cancel the connection's own first query.
    rows = _server_timeouts(pg_db_url, db_lock_timeout=0.0001)
    assert rows == [("0", "1ms")]


def test_the_largest_timeout_postgresql_takes_is_accepted(pg_db_url) -> None:
    rows = _server_timeouts(pg_db_url, db_statement_timeout=2147483.647)
    assert rows == [("2147483647ms", "0")]


@pytest.mark.parametrize("value", ["1e308", "inf", "86401"])
def test_a_lock_timeout_beyond_its_range_is_a_usage_error_not_an_overflow(
    cli, db_url, value
) -> None:
    """Not OverflowError (exit 70): --lock-timeout has a documented range (0-86400 s, shown
    in --help), so a value no database can take is exit 2 before any work."""
    outcome = cli(["migrate", "upgrade", "--lock-timeout", value], db=db_url)
    assert outcome.exit_code == 2, outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 2  # the error line and the --help hint
    assert "--lock-timeout" in outcome.stderr and "Traceback" not in outcome.stderr
