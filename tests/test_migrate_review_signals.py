"""`--roundtrip` never leaves its scratch database behind: not when interrupted (a real
subprocess and a real signal), not after an earlier run was killed (the sweep); and its admin
connection gives up after DB_CONNECT_TIMEOUT. PostgreSQL (SQLite's scratch file lives in a
temporary directory).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import MANAGE_BIN, PG_ADMIN_URL, fetch, manage_env, pg_admin
from tests.review_support import revision_source, write_scripts

SLEEPY = revision_source(
    "sleepy1",
    None,
    'op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True))\n'
    'op.execute("SELECT pg_sleep(60)")',
    'op.drop_table("t")',
)


def _scratch_of(pid: int) -> list[str]:
    from db.review.scratch import PREFIX, host_tag

    rows = fetch(
        PG_ADMIN_URL,
        "SELECT datname FROM pg_database WHERE datname LIKE :p",
        {"p": f"{PREFIX}{host_tag()}_{pid}_%"},
    )
    return [row[0] for row in rows]


def _interrupt_midway(
    pg_db_url: str, tmp_path, signum: int, *, then: int | None = None
) -> tuple[int, list[str], list, str]:
    """Send `signum` while the revision runs; with `then`, send `then` three more times
    20 ms apart (the second to fourth Ctrl-C, while the scratch database is being dropped)."""
    env = manage_env(pg_db_url, **write_scripts(tmp_path, {"1_sleepy.py": SLEEPY}))
    proc = subprocess.Popen(
        [str(MANAGE_BIN), "migrate", "review", "--all", "--roundtrip", "--no-sql-lint"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the revision is running on the scratch database
            sleeping = fetch(
                PG_ADMIN_URL,
                "SELECT datname FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'",
            )
            if any(row[0] in _scratch_of(proc.pid) for row in sleeping):
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        else:
            pytest.fail("the roundtrip never reached the sleeping revision")
        proc.send_signal(signum)
        for _ in range(3 if then is not None else 0):  # Ctrl-C #2..#4 while it cleans up
            time.sleep(0.02)
            if proc.poll() is None:
                proc.send_signal(then)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    left = _scratch_of(proc.pid)
    deadline = time.monotonic() + 10  # a terminated backend may linger a moment in the view
    while True:
        still = fetch(
            PG_ADMIN_URL,
            "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' "
            "AND state = 'active'",
        )
        if not still or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for name in left:  # never leave one behind, even when the test fails
        pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return proc.returncode, left, still, out + err


def test_sigint_during_roundtrip_drops_the_scratch_database_and_exits_130(
    pg_db_url, tmp_path
) -> None:
    code, left, still, output = _interrupt_midway(pg_db_url, tmp_path, signal.SIGINT)
    assert code == 130, output
    assert left == []  # pg_database has no scratch database of that process
    assert still == []  # and nothing of ours keeps running on the server


@pytest.mark.parametrize("then", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_more_signals_during_cleanup_cannot_stop_the_drop(pg_db_url, tmp_path, then) -> None:
    code, left, still, output = _interrupt_midway(pg_db_url, tmp_path, signal.SIGINT, then=then)
    assert left == [], output  # the drop ran to the end despite the signals
    assert still == []
    assert code == 130, output  # the first signal decides, the process does not die silently
    assert output.strip().splitlines()[-1] == "error: interrupted; nothing committed"
    assert "Traceback" not in output


def test_sigterm_during_roundtrip_drops_the_scratch_database_and_exits_143(
    pg_db_url, tmp_path
) -> None:
    code, left, still, output = _interrupt_midway(pg_db_url, tmp_path, signal.SIGTERM)
    assert code == 143, output
    assert left == [] and still == []


def test_roundtrip_sweeps_scratch_databases_of_killed_runs_and_nothing_else(
    cli, pg_db_url, tmp_path
) -> None:
    from db.review.scratch import PREFIX, scratch_name

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale_dead = scratch_name(pid=dead.pid)
    stale_old = scratch_name(pid=os.getppid(), now=time.time() - 7 * 3600)
    live = scratch_name(pid=os.getppid())  # a running review (pytest's parent is alive)
    unrelated = f"{PREFIX}keep_me"
    names = [stale_dead, stale_old, live, unrelated]
    pg_admin(*(f'CREATE DATABASE "{n}"' for n in names))
    try:
        env = write_scripts(tmp_path, {"1_t.py": revision_source("t1", None, "pass", "pass")})
        outcome = cli(
            ["migrate", "review", "--all", "--roundtrip", "--no-sql-lint", "--json"],
            db=pg_db_url,
            env=env,
        )
        assert outcome.exit_code == 0, outcome.stdout
        rows = fetch(PG_ADMIN_URL, "SELECT datname FROM pg_database")
        present = {row[0] for row in rows}
        assert stale_dead not in present and stale_old not in present
        assert live in present and unrelated in present
        assert "dropped 2 scratch database(s) left by killed reviews" in outcome.stdout
    finally:
        pg_admin(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names))


def test_roundtrip_admin_connection_honours_db_connect_timeout(cli, tmp_path) -> None:
    """A server that accepts TCP but never answers: exit 6 in about DB_CONNECT_TIMEOUT."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        env = write_scripts(tmp_path, {"1_t.py": revision_source("t1", None, "pass", "pass")})
        started = time.monotonic()
        outcome = cli(
            ["migrate", "review", "--all", "--roundtrip", "--no-sql-lint"],
            db=f"postgresql://postgres@127.0.0.1:{port}/nothing",
            env={**env, "DB_CONNECT_TIMEOUT": "1"},
        )
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert outcome.exit_code == 6, outcome.stdout + outcome.stderr
    assert elapsed < 15
    assert outcome.stderr.startswith("error: ")


LOCKING = revision_source(
    "lock1",
    None,
    'op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True))',
    'op.drop_table("t")',
)
LOCKED = revision_source("lock2", "lock1", 'op.alter_column("t", "id", nullable=False)', "pass")


@pytest.mark.parametrize("scope", [["--all"], []], ids=["all", "pending"])
def test_an_unreachable_server_costs_one_connect_timeout_with_roundtrip(
    manage_proc, tmp_path, scope
) -> None:
    """Once the size lookup (or the pending lookup) found the server silent, the roundtrip
    does not wait a second DB_CONNECT_TIMEOUT for its scratch database: exit 6 at once."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        env = write_scripts(tmp_path, {"1_a.py": LOCKING, "2_b.py": LOCKED})
        started = time.monotonic()
        outcome = manage_proc(
            ["migrate", "review", *scope, "--roundtrip", "--no-sql-lint"],
            db=f"postgresql://postgres@127.0.0.1:{port}/nothing",
            env={**env, "DB_CONNECT_TIMEOUT": "4"},
        )
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert outcome.exit_code == 6, outcome.stdout + outcome.stderr
    assert outcome.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "--roundtrip needs the server" in outcome.stderr
    assert elapsed < 4 + 3, elapsed  # one timeout plus start-up, never two (8 s)


def test_an_interruption_that_left_a_scratch_database_says_so_not_nothing_committed() -> None:
    """scratch.py raises CancelledError("interrupted; could not drop ...") when the drop of an
    interrupted run fails; the runner's one line must keep it (exit 130 still)."""
    import asyncio

    from manage.errors import classify
    from manage.exit_codes import ExitCode

    said = "interrupted; could not drop scratch database manage_review_x (gone); the next drops it"
    failure = classify(asyncio.CancelledError(said))
    assert failure.exit_code == ExitCode.INTERRUPTED and failure.message == said
    plain = classify(asyncio.CancelledError())
    assert plain.message == "interrupted; nothing committed"
    assert classify(KeyboardInterrupt()).message == "interrupted; nothing committed"
