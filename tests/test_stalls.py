"""A stalled network or server never hangs a command: it is exit 6 naming what timed out,
within the configured deadline + 2 s. A connection lost mid-COPY is exit 6 too, not 70.

A real fault proxy (tests/fault_proxy.py) sits between the real console script and a real
PostgreSQL database and stops forwarding (or drops the connection) on a chosen statement.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import MANAGE_BIN, fetch, manage_env
from tests.fault_proxy import FaultProxy
from tests.migrations_fixtures import CHAIN_ENV

PASSWORD = "correct-horse-battery-staple"


def run(
    args: list[str], env: dict[str, str], cwd: Path, proxy: FaultProxy, input: str | None = None
) -> tuple[int, str, str, float]:
    """Run manage ARGS; the last item is the seconds from the stall to the exit."""
    proc = subprocess.run(
        [str(MANAGE_BIN), *args],
        env=manage_env(**env),
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )
    ended = time.monotonic()
    assert proxy.triggered.is_set(), proc.stderr
    return proc.returncode, proc.stdout, proc.stderr, ended - proxy.triggered_at


def assert_one_error_line(stderr: str, *fragments: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for fragment in fragments:
        assert fragment in lines[0], stderr


SEED_FILE = """\
users:
  - email: stalled@example.com
    full_name: Stalled
    password_env: STALLED_PASSWORD
"""

# (command, statement text to stall on, extra environment); the deadline is 2 s.
STATEMENT_STALLS = {
    "users list": (["users", "list"], b"FROM users", {}),
    "users create-superuser": (
        ["users", "create-superuser", "--email", "ops@example.com", "--password-stdin"],
        b"INSERT INTO users",
        {},
    ),
    # A read of the migration state keeps the short deadline (MIGRATION_COMMAND_TIMEOUT is for
    # running migrations).
    "migrate status": (["migrate", "status"], b"alembic_version", {}),
    "seed run": (
        ["seed", "run", "seed.yaml"],
        b"INSERT INTO users",
        {"STALLED_PASSWORD": PASSWORD},
    ),
}


@pytest.mark.parametrize("name", list(STATEMENT_STALLS))
def test_a_statement_that_gets_no_answer_is_exit_6_naming_db_command_timeout(
    pg_db_url, tmp_path, name
) -> None:
    args, statement, extra = STATEMENT_STALLS[name]
    (tmp_path / "seed.yaml").write_text(SEED_FILE)
    with FaultProxy(pg_db_url, mode="stall", on=statement) as proxy:
        env = {"DATABASE_URL": proxy.url, "DB_COMMAND_TIMEOUT": "2", **extra}
        code, _, stderr, elapsed = run(args, env, tmp_path, proxy, input=PASSWORD + "\n")
    assert code == 6, stderr
    assert elapsed < 2 + 2, elapsed
    assert_one_error_line(stderr, "no answer within 2s (DB_COMMAND_TIMEOUT)")
    assert fetch(pg_db_url, "SELECT count(*) FROM users") == [(0,)]


def test_a_stalled_migration_is_exit_6_naming_migration_command_timeout(scratch, tmp_path) -> None:
    url = scratch.blank("postgresql")
    with FaultProxy(url, mode="stall", on=b"INSERT INTO markers") as proxy:
        env = {
            "DATABASE_URL": proxy.url,
            "MIGRATION_COMMAND_TIMEOUT": "2",
            **CHAIN_ENV,
        }
        code, stdout, stderr, elapsed = run(["migrate", "upgrade"], env, tmp_path, proxy)
    assert code == 6, stderr
    assert elapsed < 2 + 2, elapsed
    assert_one_error_line(stderr, "no answer within 2s (MIGRATION_COMMAND_TIMEOUT)")
    assert stdout == ""


@pytest.mark.parametrize("command", [["db", "check", "--wait", "3"], ["db", "init", "--wait", "3"]])
def test_wait_is_a_real_deadline_when_the_server_stops_answering(
    pg_db_url, tmp_path, command
) -> None:
    with FaultProxy(pg_db_url, mode="stall", on=b"SELECT") as proxy:
        env = {"DATABASE_URL": proxy.url, "DB_CONNECT_TIMEOUT": "1"}
        code, _, stderr, elapsed = run(command, env, tmp_path, proxy)
    assert code == 6, stderr
    assert elapsed < 3 + 2, elapsed
    assert_one_error_line(stderr, "no answer within --wait 3s")


def test_lock_timeout_is_a_real_deadline_when_the_server_stops_answering(scratch, tmp_path) -> None:
    url = scratch.blank("postgresql")
    with FaultProxy(url, mode="stall", on=b"pg_try_advisory_lock") as proxy:
        env = {"DATABASE_URL": proxy.url, **CHAIN_ENV}
        code, _, stderr, elapsed = run(
            ["migrate", "upgrade", "--lock-timeout", "2"], env, tmp_path, proxy
        )
    assert code == 6, stderr
    assert elapsed < 2 + 2, elapsed
    assert_one_error_line(stderr, "waiting 2s for the migration lock (--lock-timeout)")


def test_a_server_that_never_answers_the_startup_is_exit_6_naming_db_connect_timeout(
    pg_db_url, tmp_path
) -> None:
    with FaultProxy(pg_db_url, mode="stall", after=1) as proxy:
        env = {"DATABASE_URL": proxy.url, "DB_CONNECT_TIMEOUT": "1"}
        code, _, stderr, elapsed = run(["users", "list"], env, tmp_path, proxy)
    assert code == 6, stderr
    assert elapsed < 1 + 2, elapsed
    assert_one_error_line(stderr, "DB_CONNECT_TIMEOUT")


@pytest.mark.parametrize("command", [["users", "list"], ["migrate", "upgrade"]])
def test_a_connect_stall_names_the_urls_connect_timeout_when_it_is_the_deadline(
    pg_db_url, tmp_path, command
) -> None:
    """The URL's connect_timeout replaces DB_CONNECT_TIMEOUT: the message names the one that
    ran out (it named DB_CONNECT_TIMEOUT, whose value was not the deadline)."""
    with FaultProxy(pg_db_url, mode="stall", after=1) as proxy:
        env = {"DATABASE_URL": proxy.url + "?connect_timeout=1", "DB_CONNECT_TIMEOUT": "4"}
        code, _, stderr, elapsed = run(command, env, tmp_path, proxy)
    assert code == 6, stderr
    assert elapsed < 1 + 2, elapsed
    assert_one_error_line(stderr, "no answer within 1s (connect_timeout in DATABASE_URL)")


def test_a_connection_lost_during_a_bulk_copy_is_exit_6_and_writes_nothing(
    pg_db_url, tmp_path
) -> None:
    with FaultProxy(pg_db_url, mode="drop", on=b"COPY") as proxy:
        env = {"DATABASE_URL": proxy.url, "MANAGE_PASSWORD": PASSWORD}
        code, stdout, stderr, _ = run(
            ["seed", "fake", "users", "--count", "20000"], env, tmp_path, proxy
        )
    assert code == 6, stderr
    assert_one_error_line(stderr, "database unavailable")
    assert stdout == ""
    assert fetch(pg_db_url, "SELECT count(*) FROM users") == [(0,)]


def test_connections_have_tcp_keepalives_on(pg_db_url) -> None:
    """A vanished peer is noticed by the client: SO_KEEPALIVE and its timings on our socket."""
    import socket

    from db.config import DatabaseSettings
    from db.engine import create_engine
    from tests.conftest import run_async

    async def go() -> tuple[int, int, int]:
        engine = create_engine(DatabaseSettings(database_url=pg_db_url), pooled=False)
        try:
            async with engine.connect() as conn:
                raw = await conn.get_raw_connection()
                # The socket itself: asyncio's transport is the only way to it.
                sock = raw.driver_connection._transport.get_extra_info("socket")
                return (
                    sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                )
        finally:
            await engine.dispose()

    assert run_async(go()) == (1, 30, 3)


def test_a_bulk_copy_that_gets_no_answer_is_exit_6_within_the_deadline(pg_db_url, tmp_path) -> None:
    """The fast path drives asyncpg's COPY directly, past SQLAlchemy: same deadline, same
    exit, and the stalled connection is closed rather than waited on for a ROLLBACK."""
    with FaultProxy(pg_db_url, mode="stall", on=b"COPY") as proxy:
        env = {"DATABASE_URL": proxy.url, "MANAGE_PASSWORD": PASSWORD, "DB_COMMAND_TIMEOUT": "2"}
        code, stdout, stderr, elapsed = run(
            ["seed", "fake", "users", "--count", "20000"], env, tmp_path, proxy
        )
    assert code == 6, stderr
    assert elapsed < 2 + 2, elapsed
    assert_one_error_line(stderr, "no answer in time (DB_COMMAND_TIMEOUT)")
    assert stdout == ""
    assert fetch(pg_db_url, "SELECT count(*) FROM users") == [(0,)]


CREATE_SUPERUSER = ["users", "create-superuser", "--email", "c@example.com", "--password-stdin"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_an_unanswered_commit_says_it_may_have_been_committed_only(
    pg_db_url, tmp_path, signum
) -> None:
    """The COMMIT went out and no answer came: the line must not also claim "nothing
    committed" (it said both: "nothing committed; this command's changes may have been
    committed")."""
    with FaultProxy(pg_db_url, mode="stall", on=b"COMMIT") as proxy:
        proc = subprocess.Popen(
            [str(MANAGE_BIN), *CREATE_SUPERUSER],
            env=manage_env(DATABASE_URL=proxy.url),
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdin is not None
            proc.stdin.write(PASSWORD + "\n")
            proc.stdin.close()
            proc.stdin = None  # written and closed: communicate() has nothing to send
            assert proxy.triggered.wait(30), proc.communicate()
            time.sleep(0.3)
            proc.send_signal(signum)
            _, stderr = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == {signal.SIGTERM: 143, signal.SIGINT: 130}[signum], stderr
    assert_one_error_line(stderr, "may have been committed (the COMMIT was under way)")
    assert "nothing committed" not in stderr


def test_a_stall_after_a_revision_committed_names_the_revision_that_stayed(
    scratch, tmp_path
) -> None:
    """migrate upgrade commits each revision on PostgreSQL: a stall in the second is exit 6,
    and the line says the first one stayed (it said only "a statement timed out")."""
    url = scratch.blank("postgresql")
    with FaultProxy(url, mode="stall", on=b"UPDATE alembic_version") as proxy:
        env = {"DATABASE_URL": proxy.url, "MIGRATION_COMMAND_TIMEOUT": "2"}
        code, _, stderr, _ = run(["migrate", "upgrade"], env, tmp_path, proxy)
    (first,) = fetch(url, "SELECT version_num FROM alembic_version")[0]
    assert code == 6, stderr
    assert_one_error_line(stderr, "(MIGRATION_COMMAND_TIMEOUT)", f"; committed: revision {first}")
