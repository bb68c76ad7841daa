"""`manage db check`: 0 ready, 1 behind, 6 unreachable."""

from __future__ import annotations

import json
import socket


def test_check_on_a_migrated_database_is_exit_0(cli, db_url) -> None:
    outcome = cli(["db", "check"], db=db_url)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.startswith("ready")


def test_check_on_an_unmigrated_database_is_exit_1_and_says_why(cli, blank_db_url) -> None:
    outcome = cli(["db", "check", "--json"], db=blank_db_url)
    assert outcome.exit_code == 1
    document = json.loads(outcome.stdout)
    assert document["success"] is False
    assert document["error_code"] == "NOT_AT_HEAD"
    assert document["data"]["reachable"] is True
    assert document["data"]["pending"]
    assert "not ready" in outcome.stderr


def test_check_on_an_unreachable_database_is_exit_6(manage_proc) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = manage_proc(["db", "check"], db=f"postgresql://postgres@127.0.0.1:{port}/app")
    assert outcome.exit_code == 6
