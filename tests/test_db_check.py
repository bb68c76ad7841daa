"""`manage db check`: 0 ready, 1 not ready (with every reason), 6 unreachable; --wait."""

from __future__ import annotations

import json
import socket
import threading
import time

PASSWORD = "Corr3ct-Horse-Batt3ry"


def _superuser(cli, db_url) -> None:
    outcome = cli(
        ["users", "create-superuser", "--email", "root@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        db=db_url,
    )
    assert outcome.exit_code == 0, outcome.stderr


def test_check_is_exit_0_when_migrated_with_a_superuser(cli, db_url) -> None:
    _superuser(cli, db_url)
    outcome = cli(["db", "check"], db=db_url)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.startswith("ready")
    data = json.loads(cli(["db", "check", "--json"], db=db_url).stdout)["data"]
    assert data["ready"] is True and data["superuser_exists"] is True
    assert data["problems"] == [] and data["pending"] == []


def test_check_without_a_superuser_is_exit_1_and_says_so(cli, db_url) -> None:
    outcome = cli(["db", "check"], db=db_url)
    assert outcome.exit_code == 1
    assert "no active superuser" in outcome.stderr


def test_check_on_an_unmigrated_database_is_exit_1_and_says_why(cli, blank_db_url) -> None:
    outcome = cli(["db", "check", "--json"], db=blank_db_url)
    assert outcome.exit_code == 1
    document = json.loads(outcome.stdout)
    assert document["success"] is False
    assert document["error_code"] == "NOT_READY"
    assert document["data"]["reachable"] is True
    assert document["data"]["pending"]
    assert "manage migrate upgrade" in document["message"]
    assert "not ready" in outcome.stderr


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_check_on_an_unreachable_database_is_exit_6(manage_proc) -> None:
    outcome = manage_proc(
        ["db", "check"], db=f"postgresql://postgres@127.0.0.1:{_closed_port()}/app"
    )
    assert outcome.exit_code == 6


def test_wait_keeps_checking_until_the_database_becomes_ready(manage_proc, cli, db_url) -> None:
    timer = threading.Timer(1.5, _superuser, args=(cli, db_url))
    started = time.monotonic()
    timer.start()
    try:
        outcome = manage_proc(["db", "check", "--wait", "20"], db=db_url)
    finally:
        timer.join()
    assert outcome.exit_code == 0, outcome.stderr
    assert 1.5 <= time.monotonic() - started < 20


def test_wait_gives_up_on_an_unreachable_database_after_the_deadline(manage_proc) -> None:
    started = time.monotonic()
    outcome = manage_proc(
        ["db", "check", "--wait", "1.5"], db=f"postgresql://postgres@127.0.0.1:{_closed_port()}/app"
    )
    elapsed = time.monotonic() - started
    assert outcome.exit_code == 6
    assert 1.0 <= elapsed < 1.5 + 5
    assert len(outcome.stderr.strip().splitlines()) == 1
