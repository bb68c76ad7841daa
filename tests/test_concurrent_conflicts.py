"""A transaction PostgreSQL rolls back because another one won (deadlock_detected 40P01,
serialization_failure 40001: SQLSTATE class 40) is exit 4 with one line saying to run it
again, not exit 70 ("a bug"): two real processes meeting on the same rows can always cause
it (seen with two `seed fake` runs of different seeds).

The server raises the real error with that SQLSTATE (asyncpg's DeadlockDetectedError and
SerializationError come from the code, as they do in a real deadlock), from a real process.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import MANAGE_BIN, fetch, manage_env

RAISE = (
    "from sqlalchemy import text\n"
    "await db.execute(text(\"UPDATE roles SET description = 'changed'\"))\n"
    "await db.execute(text(\"DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '{code}', "
    "MESSAGE = '{text}'; END $$\"))\n"
)


@pytest.mark.parametrize(
    ("code", "text", "said"),
    [
        ("40P01", "deadlock detected", "deadlock with a concurrent transaction"),
        (
            "40001",
            "could not serialize access",
            "could not serialize access due to a concurrent transaction",
        ),
    ],
    ids=["deadlock", "serialization failure"],
)
def test_a_transaction_rolled_back_for_another_is_exit_4_one_line_run_it_again(
    pg_db_url, code, text, said
) -> None:
    env = manage_env(pg_db_url)
    made = subprocess.run(
        [str(MANAGE_BIN), "roles", "create", "editors"], env=env, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    done = subprocess.run(
        [str(MANAGE_BIN), "shell", "-c", RAISE.format(code=code, text=text)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 4, done.stderr
    assert done.stderr.splitlines() == [f"error: rolled back: {said}; run it again"]
    assert fetch(pg_db_url, "SELECT description FROM roles WHERE name = 'editors'") != [
        ("changed",)
    ]
