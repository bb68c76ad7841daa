"""SIGTERM, SIGHUP and SIGINT end every command the same way: the statement running on the
server is cancelled, the transaction rolled back, the advisory locks released, one line says
what was already committed, and the exit code names the signal (143 / 129 / 130).

Real signals to the real console script; PostgreSQL's own views (pg_stat_activity,
pg_locks) are the witness that nothing of ours survives 2 s after the signal.
"""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import MANAGE_BIN, fetch, manage_env

SLOW_STATEMENT = {
    "postgresql": "SELECT pg_sleep(30)",
    # No sleep in SQLite: a recursive count that runs for minutes.
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 5000000000) SELECT count(*) FROM c",
}
EXIT = {signal.SIGTERM: 143, signal.SIGHUP: 129, signal.SIGINT: 130}
PASSWORD = "correct-horse-battery-staple"


def slow_chain(root: Path, *, slow_down: bool = False) -> dict[str, str]:
    """Three revisions: two quick ones (tables t1, t2), then one that runs for 30 s. With
    `slow_down`, the upgrades are all quick and the first revision's downgrade is the slow one."""
    versions = root / "versions"
    versions.mkdir(parents=True)
    (root / "env.py").write_text(
        "import runpy\nfrom pathlib import Path\nimport migrations\n"
        "runpy.run_path(str(Path(migrations.__file__).parent / 'env.py'), run_name='env_py')\n"
    )
    slow = f"op.execute({SLOW_STATEMENT!r}[op.get_context().dialect.name])"
    bodies = {
        "s1000000": 'op.execute("CREATE TABLE t1 (id integer)")',
        "s2000000": 'op.execute("CREATE TABLE t2 (id integer)")',
        "s3000000": "pass" if slow_down else slow,
    }
    undo = {"s1000000": slow if slow_down else "pass"}
    previous = None
    for number, (revision, body) in enumerate(bodies.items(), start=1):
        (versions / f"2026_11_30_000{number}-{revision}_step.py").write_text(
            textwrap.dedent(
                f'''\
                """step {number}

                Revision ID: {revision}
                Revises: {previous or ""}
                Create Date: 2026-11-30 00:00:0{number}

                """
                from alembic import op

                revision = "{revision}"
                down_revision = {previous!r}
                branch_labels = None
                depends_on = None


                def upgrade() -> None:
                    {body}


                def downgrade() -> None:
                    {undo.get(revision, "pass")}
                '''
            )
        )
        previous = revision
    return {"MANAGE_MIGRATIONS_DIR": str(root), "MANAGE_TARGET_METADATA": "db.metadata:metadata"}


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def ours_on_server(url: str) -> list[tuple]:
    """Sessions of ours on that database (ours: application_name 'manage')."""
    return fetch(
        url.rsplit("/", 1)[0] + "/postgres",
        "SELECT pid, state, query FROM pg_stat_activity "
        "WHERE datname = :db AND application_name = 'manage'",
        {"db": database_name(url)},
    )


def advisory_locks(url: str) -> list[tuple]:
    return fetch(
        url.rsplit("/", 1)[0] + "/postgres",
        "SELECT l.pid, l.objid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND d.datname = :db",
        {"db": database_name(url)},
    )


def slow_statement_running(url: str) -> bool:
    return any("pg_sleep" in (query or "") for _, _, query in ours_on_server(url))


def signal_when(
    args: list[str],
    env: dict[str, str],
    started: Callable[[], bool],
    signum: signal.Signals,
    tmp_path: Path,
) -> tuple[int, str, str, float]:
    """Run manage ARGS, send `signum` once `started()`; (exit code, stdout, stderr, time of
    the signal on time.monotonic())."""
    proc = subprocess.Popen(
        [str(MANAGE_BIN), *args],
        env=manage_env(**env),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not started():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the slow step never started"
            time.sleep(0.05)
        sent = time.monotonic()
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, stdout, stderr, sent


def assert_nothing_of_ours_within_2s(url: str, sent: float) -> None:
    while ours_on_server(url) or advisory_locks(url):
        assert time.monotonic() - sent < 2.0, (ours_on_server(url), advisory_locks(url))
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_during_a_migration_cancels_it_on_the_server_and_says_what_was_committed(
    pg_db_url, tmp_path, signum
) -> None:
    url = pg_db_url
    env = {"DATABASE_URL": url, **slow_chain(tmp_path / "chain")}
    _reset_to_blank(url)
    code, stdout, stderr, sent = signal_when(
        ["migrate", "upgrade", "--json"],
        env,
        lambda: slow_statement_running(url),
        signum,
        tmp_path,
    )
    assert code == EXIT[signum], stderr
    who = "" if signum is signal.SIGINT else f" by {signum.name}"
    line = f"interrupted{who}; committed: revisions s1000000, s2000000"
    assert stderr == f"error: {line}\n"
    assert json.loads(stdout) == {
        "success": False,
        "data": None,
        "message": line,
        "error_code": "INTERRUPTED",
    }
    assert_nothing_of_ours_within_2s(url, sent)
    # The two committed revisions stayed, the interrupted one did not.
    assert fetch(url, "SELECT version_num FROM alembic_version") == [("s2000000",)]


def _reset_to_blank(url: str) -> None:
    """The test database comes migrated with the project's chain: start it from nothing."""
    fetch(url, "DROP SCHEMA public CASCADE")
    fetch(url, "CREATE SCHEMA public")


def test_sigterm_before_any_revision_committed_says_nothing_committed(pg_db_url, tmp_path) -> None:
    url = pg_db_url
    _reset_to_blank(url)
    chain = slow_chain(tmp_path / "chain")
    # Only the slow revision is pending.
    assert (
        subprocess.run(
            [str(MANAGE_BIN), "migrate", "upgrade", "s2000000"],
            env=manage_env(url, **chain),
            cwd=tmp_path,
            capture_output=True,
        ).returncode
        == 0
    )
    code, stdout, stderr, sent = signal_when(
        ["migrate", "upgrade"],
        {"DATABASE_URL": url, **chain},
        lambda: slow_statement_running(url),
        signal.SIGTERM,
        tmp_path,
    )
    assert (code, stdout, stderr) == (143, "", "error: interrupted by SIGTERM; nothing committed\n")
    assert_nothing_of_ours_within_2s(url, sent)


def _copy_running(url: str) -> bool:
    return any(
        "COPY" in (query or "") or "INSERT" in (query or "")
        for _, state, query in ours_on_server(url)
        if state == "active"
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_a_million_user_load_writes_nothing_on_postgresql(
    pg_db_url, tmp_path, signum
) -> None:
    code, stdout, stderr, sent = signal_when(
        ["seed", "fake", "users", "--count", "1000000"],
        {"DATABASE_URL": pg_db_url, "MANAGE_PASSWORD": PASSWORD},
        lambda: _copy_running(pg_db_url),
        signum,
        tmp_path,
    )
    assert code == EXIT[signum], stderr
    assert stderr == f"error: interrupted by {signum.name}; nothing committed\n"
    assert stdout == ""
    assert_nothing_of_ours_within_2s(pg_db_url, sent)
    assert fetch(pg_db_url, "SELECT count(*) FROM users") == [(0,)]


def test_sigterm_during_a_million_user_load_writes_nothing_on_sqlite(scratch, tmp_path) -> None:
    url = scratch.migrated("sqlite")
    journal = Path(url.split(":///", 1)[1] + "-journal")  # exists while a write is open
    code, stdout, stderr, _ = signal_when(
        ["seed", "fake", "users", "--count", "1000000"],
        {"DATABASE_URL": url, "MANAGE_PASSWORD": PASSWORD},
        journal.exists,
        signal.SIGTERM,
        tmp_path,
    )
    assert (code, stdout) == (143, ""), stderr
    assert stderr == "error: interrupted by SIGTERM; nothing committed\n"
    assert fetch(url, "SELECT count(*) FROM users") == [(0,)]


def test_sigterm_during_a_sqlite_migration_interrupts_it_and_rolls_every_revision_back(
    scratch, tmp_path
) -> None:
    """SQLite migrates in one exclusive transaction: an interruption keeps none of it. The
    running statement is stopped (sqlite3 interrupt), not waited for."""
    url = scratch.blank("sqlite")
    journal = Path(url.split(":///", 1)[1] + "-journal")

    def slow_revision_started() -> bool:
        if not journal.exists():
            return False
        time.sleep(1.0)  # the two quick revisions take milliseconds
        return True

    code, stdout, stderr, sent = signal_when(
        ["migrate", "upgrade"],
        {"DATABASE_URL": url, **slow_chain(tmp_path / "chain")},
        slow_revision_started,
        signal.SIGTERM,
        tmp_path,
    )
    assert time.monotonic() - sent < 5  # the 5-billion-row count was not waited for
    assert (code, stdout) == (143, ""), stderr
    assert stderr == (
        "error: interrupted by SIGTERM; nothing committed; "
        "rolled back: revisions s1000000, s2000000\n"
    )
    assert fetch(url, "SELECT name FROM sqlite_master") == []


def _reading_stdin(pid: int) -> bool:
    """The process is blocked in read(0, ...) (Linux x86-64: /proc/PID/syscall starts with
    the syscall number 0, read, and its first argument, fd 0)."""
    try:
        return Path(f"/proc/{pid}/syscall").read_text().startswith("0 0x0 ")
    except OSError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_reading_a_password_is_one_line_and_the_signals_exit_code(
    tmp_path, signum
) -> None:
    """Before any database work (prompts, --password-stdin) the same contract holds."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'never.db'}"
    proc = subprocess.Popen(
        [
            str(MANAGE_BIN),
            "users",
            "create-superuser",
            "--email",
            "a@example.com",
            "--password-stdin",
            "--json",
        ],
        env=manage_env(url),
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not _reading_stdin(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == EXIT[signum]
    assert stderr == f"error: interrupted by {signum.name}; nothing committed\n"
    assert json.loads(stdout)["error_code"] == "INTERRUPTED"
    assert not (tmp_path / "never.db").exists()


def test_sigterm_during_db_init_names_the_revisions_it_had_committed(pg_db_url, tmp_path) -> None:
    """db init is several steps; the line says which ones stayed."""
    url = pg_db_url
    _reset_to_blank(url)
    code, stdout, stderr, sent = signal_when(
        ["db", "init", "--json"],
        {"DATABASE_URL": url, **slow_chain(tmp_path / "chain")},
        lambda: slow_statement_running(url),
        signal.SIGTERM,
        tmp_path,
    )
    assert code == 143, stderr
    line = "interrupted by SIGTERM; committed: revisions s1000000, s2000000"
    assert stderr == f"error: {line}\n"
    assert json.loads(stdout)["message"] == line
    assert_nothing_of_ours_within_2s(url, sent)
    assert fetch(url, "SELECT version_num FROM alembic_version") == [("s2000000",)]


def test_sigterm_during_a_downgrade_names_the_revisions_already_reverted(
    pg_db_url, tmp_path
) -> None:
    url = pg_db_url
    _reset_to_blank(url)
    chain = slow_chain(tmp_path / "chain", slow_down=True)
    upgraded = subprocess.run(
        [str(MANAGE_BIN), "migrate", "upgrade"],
        env=manage_env(url, **chain),
        cwd=tmp_path,
        capture_output=True,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    code, stdout, stderr, sent = signal_when(
        ["migrate", "downgrade", "base", "--yes"],
        {"DATABASE_URL": url, **chain},
        lambda: slow_statement_running(url),
        signal.SIGTERM,
        tmp_path,
    )
    assert (code, stdout) == (143, ""), stderr
    assert stderr == (
        "error: interrupted by SIGTERM; committed: reverted revisions s3000000, s2000000\n"
    )
    assert_nothing_of_ours_within_2s(url, sent)
    assert fetch(url, "SELECT version_num FROM alembic_version") == [("s1000000",)]


# Third-party modules a command first imports in a window where no runner code holds the
# signals: while loading (pydantic imports email_validator for app/schemas), and between
# reading the password (prepare) and the runner's event loop (SQLAlchemy imports greenlet).
HOLD_POINTS = {
    "loading": (["users", "list", "--json"], "email_validator", None),
    "after the password was read": (
        ["users", "create-superuser", "--email", "a@example.com", "--password-stdin", "--json"],
        "greenlet",
        PASSWORD + "\n",
    ),
}


@pytest.mark.parametrize("point", list(HOLD_POINTS))
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_while_the_command_is_still_loading_is_one_line_and_an_envelope(
    tmp_path, signum, point
) -> None:
    """The first second of every run is imports (typer, pydantic, the command's schemas)
    before the runner takes the signals over: a stop signal there was a silent death
    (SIGTERM/SIGHUP) or typer's silent 130 (SIGINT), with no envelope for --json.

    A stand-in for a module the command imports at that point (HOLD_POINTS) holds the run
    there until the signal comes."""
    args, module, stdin = HOLD_POINTS[point]
    shim = tmp_path / "shim"
    shim.mkdir()
    marker = tmp_path / "loading"
    (shim / f"{module}.py").write_text(
        f"import pathlib, time\npathlib.Path({str(marker)!r}).touch()\ntime.sleep(60)\n"
    )
    url = f"sqlite+aiosqlite:///{tmp_path / 'never.db'}"
    proc = subprocess.Popen(
        [str(MANAGE_BIN), *args],
        env=manage_env(url, PYTHONPATH=str(shim)),
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(stdin or "")
    proc.stdin.close()
    proc.stdin = None  # written and closed: communicate() has nothing to send
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signum)
        time.sleep(0.02)
        if proc.poll() is None:  # a second, other signal: the first one decides
            proc.send_signal(signal.SIGTERM if signum != signal.SIGTERM else signal.SIGHUP)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    who = "" if signum == signal.SIGINT else f" by {signum.name}"
    assert (proc.returncode, stderr) == (
        EXIT[signum],
        f"error: interrupted{who}; nothing committed\n",
    )
    envelope = json.loads(stdout)
    assert (envelope["success"], envelope["error_code"]) == (False, "INTERRUPTED")
    assert not (tmp_path / "never.db").exists()
