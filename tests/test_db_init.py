"""`manage db init`: the container-start step, idempotent and safe from many pods at once."""

from __future__ import annotations

import json
import socket
import subprocess
import time

from app.security import verify_password
from tests.conftest import MANAGE_BIN, fetch, manage_env, run_async

PASSWORD = "Init-Passw0rd-123"


def _env(tmp_path, email="ops@example.com", password=PASSWORD) -> dict[str, str]:
    secret = tmp_path / "admin_password"
    secret.write_text(password + "\n")
    return {"FIRST_SUPERUSER_EMAIL": email, "FIRST_SUPERUSER_PASSWORD_FILE": str(secret)}


def _seeds(tmp_path):
    base = tmp_path / "seeds" / "base"
    base.mkdir(parents=True)
    (base / "roles.yaml").write_text(
        "roles:\n  - name: admin\n    description: Everything\n    permissions: ['*']\n"
    )
    return tmp_path / "seeds"


def test_first_run_migrates_seeds_and_creates_the_superuser(cli, blank_db_url, tmp_path) -> None:
    outcome = cli(
        ["db", "init", "--seeds-dir", str(_seeds(tmp_path)), "--json"],
        db=blank_db_url,
        env=_env(tmp_path),
    )
    assert outcome.exit_code == 0, outcome.stderr
    data = json.loads(outcome.stdout)["data"]
    assert data["migrations"]["applied"]
    assert (data["seeds"]["created"], data["superuser"]["outcome"]) == (1, "created")
    [(hashed, superuser)] = fetch(blank_db_url, "SELECT hashed_password, is_superuser FROM users")
    assert verify_password(PASSWORD, hashed) and bool(superuser)
    assert fetch(blank_db_url, "SELECT name FROM roles") == [("admin",)]
    assert cli(["db", "check"], db=blank_db_url).exit_code == 0


def test_second_run_changes_nothing_and_never_touches_the_superuser(
    cli, blank_db_url, tmp_path
) -> None:
    seeds = str(_seeds(tmp_path))
    cli(["db", "init", "--seeds-dir", seeds], db=blank_db_url, env=_env(tmp_path))
    [(before,)] = fetch(blank_db_url, "SELECT hashed_password FROM users")
    again = cli(
        ["db", "init", "--seeds-dir", seeds],
        db=blank_db_url,
        env=_env(tmp_path, password="A-Different-Passw0rd"),
    )
    assert again.exit_code == 0, again.stderr
    assert "migrations: already at" in again.stdout
    assert "0 created, 0 updated, 1 unchanged" in again.stdout
    assert "exists; left unchanged" in again.stdout
    assert fetch(blank_db_url, "SELECT hashed_password FROM users") == [(before,)]


def test_without_first_superuser_settings_the_step_is_skipped(cli, blank_db_url) -> None:
    outcome = cli(["db", "init"], db=blank_db_url)
    assert outcome.exit_code == 0, outcome.stderr
    assert "FIRST_SUPERUSER_EMAIL not set; skipped" in outcome.stdout
    assert cli(["db", "check"], db=blank_db_url).exit_code == 1  # no superuser yet


def test_an_email_without_a_password_is_exit_5_before_any_work(cli, blank_db_url) -> None:
    outcome = cli(["db", "init"], db=blank_db_url, env={"FIRST_SUPERUSER_EMAIL": "o@example.com"})
    assert outcome.exit_code == 5
    assert "FIRST_SUPERUSER_PASSWORD_FILE" in outcome.stderr
    status = json.loads(cli(["migrate", "status", "--json"], db=blank_db_url).stdout)["data"]
    assert status["current"] == []


def test_a_weak_first_password_is_exit_5_and_never_shown(cli, blank_db_url, tmp_path) -> None:
    outcome = cli(["db", "init"], db=blank_db_url, env=_env(tmp_path, password="password1234"))
    assert outcome.exit_code == 5
    assert "too common" in outcome.stderr and "password1234" not in outcome.stderr


def test_a_rerun_once_the_superuser_exists_needs_no_password_and_takes_a_weak_one(
    blank_db_url, tmp_path
) -> None:
    # The container step runs on every start. Once the account exists the password is not
    # used: a secret rotated to one today's stricter policy refuses, or removed, must not
    # stop every pod from starting (it was exit 5 "before anything is done").
    def init(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(MANAGE_BIN), "db", "init", "--seeds-dir", str(tmp_path / "none")],
            env=manage_env(blank_db_url, **env),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )

    assert init(**_env(tmp_path)).returncode == 0
    [(before,)] = fetch(blank_db_url, "SELECT hashed_password FROM users")
    for env in (
        {**_env(tmp_path, password="short"), "PASSWORD_MIN_LENGTH": "40"},
        {"FIRST_SUPERUSER_EMAIL": "OPS@example.com"},
        {"FIRST_SUPERUSER_EMAIL": "ops@example.com", "FIRST_SUPERUSER_PASSWORD_FILE": "/absent"},
    ):
        again = init(**env)
        assert again.returncode == 0, (env, again.stderr)
        assert "first superuser: ops@example.com exists; left unchanged" in again.stdout
        assert again.stderr == ""
    assert fetch(blank_db_url, "SELECT hashed_password FROM users") == [(before,)]
    # Another account is still refused before anything is done.
    other = init(FIRST_SUPERUSER_EMAIL="new@example.com")
    assert other.returncode == 5 and "FIRST_SUPERUSER_PASSWORD" in other.stderr
    assert fetch(blank_db_url, "SELECT count(*) FROM users") == [(1,)]


def test_an_unreachable_database_is_exit_6_after_the_wait(manage_proc) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    outcome = manage_proc(
        ["db", "init", "--wait", "1"], db=f"postgresql://postgres@127.0.0.1:{port}/app"
    )
    assert outcome.exit_code == 6
    assert 0.9 <= time.monotonic() - started < 1 + 5


def _init_processes(url: str, tmp_path, count: int) -> list[tuple]:
    env = manage_env(url, **_env(tmp_path))
    procs = [
        subprocess.Popen(
            [str(MANAGE_BIN), "db", "init", "--seeds-dir", str(_seeds(tmp_path / str(i)))],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]
    return [(proc, *proc.communicate(timeout=180)) for proc in procs]


def test_eight_concurrent_inits_on_postgres_make_one_superuser_at_head(scratch, tmp_path) -> None:
    url = scratch.blank("postgresql")
    results = _init_processes(url, tmp_path, 8)
    assert [proc.returncode for proc, _, _ in results] == [0] * 8, results
    assert sum("first superuser: created" in out for _, out, _ in results) == 1
    assert sum("migrations: applied" in out for _, out, _ in results) == 1
    assert fetch(url, "SELECT count(*) FROM users") == [(1,)]
    assert fetch(url, "SELECT count(*) FROM roles") == [(1,)]
    from db.migrations import script_directory

    assert fetch(url, "SELECT version_num FROM alembic_version") == [
        (script_directory().get_current_head(),)
    ]


def test_concurrent_inits_on_one_sqlite_file_all_succeed(scratch, tmp_path) -> None:
    url = scratch.blank("sqlite")
    results = _init_processes(url, tmp_path, 4)
    assert [proc.returncode for proc, _, _ in results] == [0] * 4, results
    assert fetch(url, "SELECT count(*) FROM users") == [(1,)]


def test_a_held_bootstrap_lock_is_exit_6_after_the_lock_timeout(cli, pg_db_url) -> None:
    import asyncpg

    from db.init_lock import INIT_LOCK_KEY

    async def hold_and_run() -> tuple[int, str]:
        conn = await asyncpg.connect(pg_db_url)
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", INIT_LOCK_KEY)
            proc = subprocess.run(
                [str(MANAGE_BIN), "db", "init", "--lock-timeout", "1"],
                env=manage_env(pg_db_url),
                capture_output=True,
                text=True,
                timeout=60,
            )
            return proc.returncode, proc.stderr
        finally:
            await conn.close()

    code, stderr = run_async(hold_and_run())
    assert code == 6
    assert "bootstrap lock" in stderr
