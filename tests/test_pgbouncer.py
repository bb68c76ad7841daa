"""Through a real PgBouncer in transaction pooling mode (DB_PGBOUNCER=1).

Two server connections are shared by every client, so a prepared statement or a session SET
leaking from one transaction to the next would show up as an error here. Migrations go
straight to PostgreSQL through DB_MIGRATION_URL, as they must (advisory locks are per session).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MANAGE_BIN, fetch, manage_env

PASSWORD = "Corr3ct-Horse-Batt3ry"
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def pgbouncer(postgres_available: None) -> Iterator[int]:
    if not Path(PGBOUNCER).exists():
        reason = "pgbouncer is not installed (Debian package pgbouncer; .ci/run installs it)"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="manage-pgbouncer-"))
    workdir.chmod(0o755)
    (workdir / "userlist.txt").write_text('"postgres" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n* = host=127.0.0.1 port=5432\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {workdir / 'userlist.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 100\n"
        f"logfile = {workdir / 'pgbouncer.log'}\n"
    )
    for name in ("userlist.txt", "pgbouncer.ini"):
        (workdir / name).chmod(0o644)
    # PgBouncer refuses to run as root; -u drops to the postgres user.
    argv = [PGBOUNCER, str(workdir / "pgbouncer.ini")]
    if os.geteuid() == 0:
        argv[1:1] = ["-u", "postgres"]
        shutil.chown(workdir, user="postgres")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                output = proc.stdout.read().decode() if proc.stdout else ""
                proc.kill()
                pytest.fail(f"pgbouncer did not start: {output}", pytrace=False)
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def through_bouncer(pgbouncer: int, scratch) -> tuple[str, dict[str, str]]:
    """A fresh migrated database, and the environment that reaches it through PgBouncer."""
    direct = scratch.migrated("postgresql")
    name = direct.rsplit("/", 1)[1]
    env = {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{pgbouncer}/{name}",
        "DB_MIGRATION_URL": direct,
        "DB_PGBOUNCER": "1",
        "DB_STATEMENT_TIMEOUT": "30",
        "DB_LOCK_TIMEOUT": "10",
    }
    return direct, env


def _run(args: list[str], env: dict[str, str], stdin: str | None = None):
    return subprocess.run(
        [str(MANAGE_BIN), *args],
        env=manage_env(**env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_users_and_roles_commands_work_through_pgbouncer(through_bouncer) -> None:
    direct, env = through_bouncer
    steps = [
        (
            ["users", "create-superuser", "--email", "ops@example.com", "--password-stdin"],
            PASSWORD + "\n",
        ),
        (["roles", "create", "auditor", "--permission", "roles:read"], None),
        (["users", "create", "--email", "aud@example.com", "--password-stdin"], PASSWORD + "\n"),
        (["roles", "grant", "auditor", "aud@example.com"], None),
        (["users", "list", "--json"], None),
        (["db", "check"], None),
        (["audit", "list"], None),
    ]
    for args, stdin in steps:
        result = _run(args, env, stdin)
        assert result.returncode == 0, (args, result.stderr)
    assert fetch(direct, "SELECT count(*) FROM users") == [(2,)]


def test_concurrent_clients_share_two_server_connections_without_errors(through_bouncer) -> None:
    direct, env = through_bouncer
    procs = [
        subprocess.Popen(
            [
                str(MANAGE_BIN),
                "users",
                "create",
                "--email",
                f"user{i}@example.com",
                "--password-stdin",
            ],
            env=manage_env(**env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    results = [proc.communicate(PASSWORD + "\n", timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 8, results
    assert fetch(direct, "SELECT count(*) FROM users") == [(8,)]


def test_migrations_use_the_direct_url(pgbouncer, scratch) -> None:
    direct = scratch.blank("postgresql")
    name = direct.rsplit("/", 1)[1]
    env = {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{pgbouncer}/{name}",
        "DB_MIGRATION_URL": direct,
        "DB_PGBOUNCER": "1",
    }
    result = _run(["migrate", "upgrade"], env)
    assert result.returncode == 0, result.stderr
    assert fetch(direct, "SELECT count(*) FROM alembic_version") == [(1,)]


def test_timeouts_are_applied_per_transaction_through_pgbouncer(through_bouncer) -> None:
    _, env = through_bouncer
    result = _run(
        [
            "shell",
            "-c",
            "from sqlalchemy import text\n(await db.exec(text('SHOW statement_timeout'))).scalar()",
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "'30s'"
    slow = _run(
        ["shell", "-c", "from sqlalchemy import text\nawait db.exec(text('SELECT pg_sleep(5)'))"],
        {**env, "DB_STATEMENT_TIMEOUT": "0.5"},
    )
    assert slow.returncode == 6
    assert "statement timed out" in slow.stderr


def test_without_pgbouncer_mode_startup_timeouts_are_refused_cleanly(through_bouncer) -> None:
    """Why DB_PGBOUNCER exists: PgBouncer rejects timeouts sent as startup parameters."""
    _, env = through_bouncer
    result = _run(["users", "list"], {**env, "DB_PGBOUNCER": "0"})
    assert result.returncode == 6, result.stderr
    assert "unsupported startup parameter" in result.stderr
    assert "DB_PGBOUNCER=1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
