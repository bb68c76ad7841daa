"""The CLI shell: lazy start-up, usage errors, unreachable databases, the JSON envelope."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tests.conftest import REPO, manage_env

HEAVY = ("sqlalchemy", "alembic", "asyncpg", "passlib", "aiosqlite", "sqlmodel")


def _modules_loaded_by(*argv: str) -> list[str]:
    probe = (
        "import sys\n"
        f"sys.argv = ['manage', *{list(argv)!r}]\n"
        "from manage.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=manage_env(),
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1].replace("'", '"'))


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["users", "--help"],
        ["migrate", "--help"],
        ["db", "--help"],
        ["roles", "--help"],
        ["seed", "--help"],
        ["seed", "run", "--help"],
        ["seed", "fake", "users", "--help"],
    ],
)
def test_help_imports_no_database_or_hashing_library(argv: list[str]) -> None:
    assert _modules_loaded_by(*argv) == []


def test_root_help_lists_every_group_without_importing_them() -> None:
    probe = (
        "import sys\nsys.argv = ['manage', '--help']\n"
        "from manage.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith('commands.')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=manage_env(),
        cwd=REPO,
        timeout=60,
    )
    for group in ("users", "migrate", "db"):
        assert group in proc.stdout
    assert "LOADED []" in proc.stdout


def test_version_prints_the_installed_version(cli) -> None:
    outcome = cli(["--version"])
    assert outcome.exit_code == 0
    assert outcome.stdout.startswith("manage 0.")


def test_unknown_option_is_a_usage_error_exit_2(cli) -> None:
    assert cli(["users", "list", "--no-such-option"]).exit_code == 2


def test_python_dash_m_manage_works_like_the_console_script() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "manage", "--help"],
        capture_output=True,
        text=True,
        env=manage_env(),
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode == 0
    assert "migrate" in proc.stdout


def test_unsupported_database_scheme_is_exit_5_naming_the_variable(cli) -> None:
    outcome = cli(["users", "list"], env={"DATABASE_URL": "mysql://root:hunter22@db/app"})
    assert outcome.exit_code == 5
    assert "DATABASE_URL" in outcome.stderr
    assert "hunter22" not in outcome.stderr + outcome.stdout


def _assert_one_line_unavailable(outcome, started: float, budget: float) -> None:
    assert outcome.exit_code == 6, outcome.stderr
    assert time.monotonic() - started < budget
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, outcome.stderr
    assert "database unavailable" in lines[0]
    assert "Traceback" not in outcome.stderr


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_postgres_connection_is_exit_6_with_one_line(manage_proc) -> None:
    started = time.monotonic()
    outcome = manage_proc(
        ["users", "list"], db=f"postgresql://postgres:s3cret-pw@127.0.0.1:{_closed_port()}/app"
    )
    _assert_one_line_unavailable(outcome, started, budget=5 + 2)
    assert "s3cret-pw" not in outcome.stderr


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers (a hung database)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.mark.parametrize("command", [["users", "list"], ["db", "check"], ["migrate", "upgrade"]])
def test_hung_database_is_exit_6_within_connect_timeout_plus_2s(
    manage_proc, silent_server, command
) -> None:
    started = time.monotonic()
    outcome = manage_proc(
        command,
        db=f"postgresql://postgres@127.0.0.1:{silent_server}/app",
        env={"DB_CONNECT_TIMEOUT": "1"},
    )
    _assert_one_line_unavailable(outcome, started, budget=1 + 2)
    assert "timed out" in outcome.stderr


def test_missing_sqlite_directory_is_exit_6(cli, tmp_path) -> None:
    outcome = cli(["users", "list"], db=f"sqlite+aiosqlite:///{tmp_path}/missing/dir/app.db")
    assert outcome.exit_code == 6
    assert f"the SQLite directory {tmp_path}/missing/dir does not exist" in outcome.stderr


def test_unmigrated_database_says_to_migrate_first(cli, blank_db_url) -> None:
    outcome = cli(["users", "list"], db=blank_db_url)
    assert outcome.exit_code == 6
    assert "manage migrate upgrade" in outcome.stderr


def test_error_with_json_prints_the_envelope_on_stdout(cli) -> None:
    outcome = cli(
        ["users", "list", "--json"], db=f"postgresql://postgres@127.0.0.1:{_closed_port()}/app"
    )
    assert outcome.exit_code == 6
    document = json.loads(outcome.stdout)
    assert document == {
        "success": False,
        "data": None,
        "message": document["message"],
        "error_code": "DB_UNAVAILABLE",
    }
    assert "connection refused" in document["message"]


def test_verbose_prints_a_traceback_without_local_variables(cli) -> None:
    outcome = cli(
        ["--verbose", "users", "list"], db=f"postgresql://postgres@127.0.0.1:{_closed_port()}/app"
    )
    assert outcome.exit_code == 6
    assert "Traceback" in outcome.stderr
    # rich/typer "show locals" panels print a "locals" box; plain tracebacks never do.
    assert "locals" not in outcome.stderr.lower()


def test_password_in_database_url_flag_is_warned_about_and_never_echoed(cli) -> None:
    outcome = cli(
        [
            "--database-url",
            f"postgresql://postgres:flag-pw-123@127.0.0.1:{_closed_port()}/app",
            "users",
            "list",
        ]
    )
    assert outcome.exit_code == 6
    assert "process list" in outcome.stderr
    assert "flag-pw-123" not in outcome.stderr + outcome.stdout


def test_help_paragraphs_are_reflowed_not_broken_mid_sentence() -> None:
    """Typer keeps a docstring's line breaks; on a wide terminal a paragraph is one line."""
    proc = subprocess.run(
        [sys.executable, "-m", "manage", "users", "create-superuser", "--help"],
        capture_output=True,
        text=True,
        env={**manage_env(), "COLUMNS": "400"},
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode == 0
    assert "hidden; a weak one is explained and asked again). Without a terminal" in proc.stdout
