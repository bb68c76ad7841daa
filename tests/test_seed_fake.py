"""`manage seed fake users`: deterministic bulk users, one transaction, Ctrl-C writes nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import MANAGE_BIN, fetch, manage_env

PASSWORD = "correct-horse-battery-staple"


def fake(cli, db_url: str, *args: str):
    return cli(["seed", "fake", "users", *args], db=db_url, env={"MANAGE_PASSWORD": PASSWORD})


def test_10000_users_are_the_same_for_the_same_seed_and_a_rerun_skips_them(
    cli, db_url, backend, scratch
) -> None:
    first = fake(cli, db_url, "--count", "10000", "--seed", "42", "--json")
    assert first.exit_code == 0, first.stderr
    data = json.loads(first.stdout)["data"]
    assert (data["requested"], data["created"], data["skipped"], data["seed"]) == (
        10_000,
        10_000,
        0,
        42,
    )
    emails = fetch(db_url, "SELECT email, full_name FROM users ORDER BY email")
    assert len({email for email, _ in emails}) == 10_000
    # One password, hashed once: every row carries the same hash, never the password.
    assert fetch(db_url, "SELECT count(DISTINCT hashed_password) FROM users") == [(1,)]
    assert PASSWORD not in str(fetch(db_url, "SELECT hashed_password FROM users LIMIT 1"))

    rerun = fake(cli, db_url, "--count", "10000", "--seed", "42")
    assert rerun.exit_code == 0, rerun.stderr
    assert "created 0 user(s), skipped 10000 existing" in rerun.stdout
    assert fetch(db_url, "SELECT count(*) FROM users") == [(10_000,)]

    elsewhere = scratch.migrated(backend)
    assert fake(cli, elsewhere, "--count", "10000", "--seed", "42").exit_code == 0
    assert fetch(elsewhere, "SELECT email, full_name FROM users ORDER BY email") == emails
    other_seed = scratch.migrated(backend)
    assert fake(cli, other_seed, "--count", "100", "--seed", "43").exit_code == 0
    assert fetch(other_seed, "SELECT email FROM users ORDER BY email") != emails[:100]


def test_role_is_granted_to_each_new_user_and_output_on_a_pipe_is_one_line(cli, db_url) -> None:
    assert cli(["roles", "create", "viewer"], db=db_url).exit_code == 0
    outcome = fake(cli, db_url, "--count", "2500", "--seed", "1", "--role", "viewer")
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.splitlines() == [outcome.stdout.strip()]
    assert outcome.stdout.startswith("created 2500 user(s), skipped 0 existing")
    assert outcome.stderr == ""
    assert fetch(
        db_url,
        "SELECT count(*) FROM user_roles ur JOIN roles r ON r.id = ur.role_id "
        "WHERE r.name = 'viewer'",
    ) == [(2500,)]


def test_an_unknown_role_is_exit_3_and_writes_nothing(cli, db_url) -> None:
    outcome = fake(cli, db_url, "--count", "10", "--role", "ghost")
    assert outcome.exit_code == 3
    assert "role ghost not found" in outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]


def test_no_password_source_is_exit_5_before_any_work(cli, db_url) -> None:
    outcome = cli(["seed", "fake", "users", "--count", "10"], db=db_url)
    assert outcome.exit_code == 5
    assert "no password source" in outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]


def _copy_running(db_url: str) -> bool:
    rows = fetch(
        db_url,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'manage' "
        "AND query LIKE 'COPY%'",
    )
    return rows[0][0] > 0


def _interrupt_a_million(url: str, tmp_path: Path, started: Callable[[], bool]) -> tuple:
    """Start `seed fake users --count 1000000`, SIGINT it once `started()`, return the result."""
    proc = subprocess.Popen(
        [str(MANAGE_BIN), "seed", "fake", "users", "--count", "1000000", "--seed", "5"],
        env=manage_env(url, MANAGE_PASSWORD=PASSWORD),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not started():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the load never started"
            time.sleep(0.02)
        time.sleep(0.3)  # some rows are written by now
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, stdout, stderr


def test_sigint_during_a_million_rows_is_exit_130_and_writes_nothing(pg_db_url, tmp_path) -> None:
    code, stdout, stderr = _interrupt_a_million(
        pg_db_url, tmp_path, started=lambda: _copy_running(pg_db_url)
    )
    assert code == 130, stderr
    assert "interrupted; nothing committed" in stderr
    assert stdout == ""
    assert fetch(pg_db_url, "SELECT count(*) FROM users") == [(0,)]


def test_sigint_during_a_million_rows_on_sqlite_is_exit_130_and_writes_nothing(
    scratch, tmp_path
) -> None:
    url = scratch.migrated("sqlite")
    journal = Path(url.split(":///", 1)[1] + "-journal")  # exists while a write is open
    code, stdout, stderr = _interrupt_a_million(url, tmp_path, started=journal.exists)
    assert code == 130, stderr
    assert "interrupted; nothing committed" in stderr
    assert stdout == ""
    assert fetch(url, "SELECT count(*) FROM users") == [(0,)]
