"""Fixtures: every database test runs on a real SQLite file and a real PostgreSQL database.

Each test gets its own database, cloned from a template migrated once per session
(PostgreSQL: CREATE DATABASE ... TEMPLATE; SQLite: a file copy), so the CLI can run in the
test process or as a subprocess and still see only that test's rows.
"""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MANAGE_BIN = Path(sys.executable).with_name("manage")
# Variables the CLI reads; tests start from none of them (a developer's shell may set some).
MANAGED_ENV = (
    "DATABASE_URL",
    "DB_MIGRATION_URL",
    "DB_CONNECT_TIMEOUT",
    "DB_STATEMENT_TIMEOUT",
    "DB_LOCK_TIMEOUT",
    "DB_PGBOUNCER",
    "ENVIRONMENT",
    "MANAGE_PASSWORD",
    "MANAGE_ACTOR",
    "PASSWORD_MIN_LENGTH",
    "FIRST_SUPERUSER_EMAIL",
    "FIRST_SUPERUSER_PASSWORD",
    "NO_COLOR",
    "FIRST_SUPERUSER_PASSWORD_FILE",
    "SECRET_KEY",
    "JWT_ALGORITHM",
    "ACCESS_TOKEN_EXPIRE_MINUTES",
    "MIGRATION_LOCK_TIMEOUT",
    "MIGRATION_STATEMENT_TIMEOUT",
    "MIGRATION_NAMING_CONVENTION",
    "DB_SQLITE_BUSY_TIMEOUT",
    "MANAGE_MIGRATIONS_DIR",
    "MANAGE_TARGET_METADATA",
)


# Test files whose tests measure time (deadlines, stalls, lock timeouts), send real signals,
# race several processes or watch the whole server (pg_stat_activity, pg_locks): marked
# `serial`, so `make test` runs them alone after the rest ran on two workers. A file not
# listed must not depend on the machine being otherwise idle.
SERIAL_FILES = frozenset(
    [
        "test_api_login_races",
        "test_api_retryable_errors",
        "test_cli_shell",
        "test_concurrent_conflicts",
        "test_db_check",
        "test_db_init",
        "test_migrate_backfill_attack",
        "test_migrate_backfill_more",
        "test_migrate_backfill_postgres",
        "test_migrate_backfill_signals",
        "test_migrate_failures",
        "test_migrate_lock",
        "test_migrate_review_extras",
        "test_migrate_review_faults",
        "test_migrate_review_signals",
        "test_migrate_progress_tty",
        "test_seed_fake_factories",
        "test_output_failures",
        "test_password_sources",
        "test_pgbouncer",
        "test_roles",
        "test_seed_concurrency",
        "test_seed_direct",
        "test_seed_fake",
        "test_seed_file_changes",
        "test_seed_unchanged_races",
        "test_shell",
        "test_signals",
        "test_stalls",
        "test_stories",
        "test_undecodable_input",
        "test_usage_errors",
        "test_users_manage",
    ]
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.stem in SERIAL_FILES:
            item.add_marker(pytest.mark.serial)


def run_async(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


async def _fetch(url: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
    from sqlalchemy import text

    from db.config import DatabaseSettings
    from db.engine import create_engine

    engine = create_engine(DatabaseSettings(database_url=url), pooled=False)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql), params or {})
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


def fetch(url: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
    """Run SQL against `url` and return its rows (what a user would see in the database)."""
    return run_async(_fetch(url, sql, params))


async def until_a_lock_is_awaited(conn: Any, kind: str | None = None, deadline: float = 60) -> None:
    """Until a backend of `conn`'s database waits for a lock (of `kind`: advisory,
    transactionid, ...; any kind when None). Other tests' processes, waiting in their own
    databases on the same server, do not count."""
    import time

    query = (
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE NOT l.granted AND a.datname = current_database() "
        "AND ($1::text IS NULL OR l.locktype = $1::text)"
    )
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        # pg_stat_activity is read once per transaction, and `conn` may be in one (holding
        # the lock the other process waits for): a fresh read each time.
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        if await conn.fetchval(query, kind):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"nothing waited for a {kind or 'lock'} in {deadline} s")


async def _pg_admin(*statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def pg_admin(*statements: str) -> None:
    run_async(_pg_admin(*statements))


def pg_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def _migrate(url: str) -> None:
    from db import migrations
    from db.config import DatabaseSettings
    from db.engine import create_engine

    async def go() -> None:
        engine = create_engine(DatabaseSettings(database_url=url), pooled=False)
        try:
            await migrations.upgrade(engine, "head")
        finally:
            await engine.dispose()

    run_async(go())
    # The ledger of committed steps is per process (db/progress.py): the runner resets it
    # when a command starts, but a seed run reads its files before that, and a first-line
    # error there would report this template's revisions as committed by the run.
    from db import progress

    progress.reset()


@pytest.fixture(scope="session")
def postgres_available() -> None:
    """Skip PostgreSQL tests when no server answers, unless REQUIRE_POSTGRES=1 (CI): then fail."""
    try:
        pg_admin("SELECT 1")
    except Exception as exc:
        reason = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(reason)


DROP_BATCH = 16  # databases dropped together (see ScratchDatabases._drop_queued)


async def _drop_databases(names: list[str]) -> list[str]:
    """Drop `names` over one connection each, at once; what failed, as text."""
    import asyncpg

    async def drop(name: str) -> str | None:
        try:
            conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()
        except Exception as exc:  # reported at the session's end, never lost
            return f"{name}: {type(exc).__name__}: {exc}"
        return None

    return [f for f in await asyncio.gather(*(drop(n) for n in names)) if f is not None]


class ScratchDatabases:
    """Creates databases for one test session. A test's own databases are queued for a
    background thread when the test ends, which drops them in concurrent batches (a DROP
    DATABASE costs the server a checkpoint, up to a second under load: dropped one by one at
    the session's end they took 351 s of a run); the migrated templates go last."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pg_names: list[str] = []
        self._templates: dict[str, str] = {}  # backend -> URL, dropped at the session's end
        self._drops: queue.Queue[str | None] = queue.Queue()
        self._dropper = threading.Thread(
            target=self._drop_queued, name="drop-databases", daemon=True
        )
        self._dropper.start()
        self._failures: list[str] = []

    def blank(self, backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.root / f'{uuid.uuid4().hex[:12]}.db'}"
        name = f"manage_test_{uuid.uuid4().hex[:12]}"
        pg_admin(f'CREATE DATABASE "{name}"')
        self.pg_names.append(name)
        return pg_url(name)

    def migrated(self, backend: str) -> str:
        if backend not in self._templates:
            template = self.blank(backend)
            if backend != "sqlite":  # kept to the end, not dropped with this test's own
                self.pg_names.remove(template.rsplit("/", 1)[1])
            _migrate(template)
            self._templates[backend] = template
        template = self._templates[backend]
        if backend == "sqlite":
            copy = self.root / f"{uuid.uuid4().hex[:12]}.db"
            shutil.copyfile(template.split(":///", 1)[1], copy)
            return f"sqlite+aiosqlite:///{copy}"
        name = f"manage_test_{uuid.uuid4().hex[:12]}"
        pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template.rsplit("/", 1)[1]}"')
        self.pg_names.append(name)
        return pg_url(name)

    def release(self, since: int) -> None:
        """Queue the drop of the databases created after the first `since` (a test's own)."""
        for name in self.pg_names[since:]:
            self._drops.put(name)
        del self.pg_names[since:]

    def _drop_queued(self) -> None:
        """Drop queued databases DROP_BATCH at a time, concurrently: each DROP DATABASE asks
        for an immediate checkpoint, and concurrent requests share one (measured: 10 drops
        one after the other 7.0 s, at once 1.1 s), so the tests are not slowed by a
        checkpoint after every one of them."""
        batch: list[str] = []
        while True:
            name = self._drops.get()
            if name is not None:
                batch.append(name)
            if batch and (name is None or len(batch) >= DROP_BATCH):
                for failure in run_async(_drop_databases(batch)):
                    self._failures.append(failure)
                batch = []
            if name is None:
                return

    def drop_all(self) -> None:
        self._drops.put(None)
        self._dropper.join()
        left = self.pg_names + [
            url.rsplit("/", 1)[1] for backend, url in self._templates.items() if backend != "sqlite"
        ]
        if left:
            self._failures += run_async(_drop_databases(left))
        if self._failures:
            raise RuntimeError("databases not dropped: " + "; ".join(self._failures))


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchDatabases]:
    databases = ScratchDatabases(tmp_path_factory.mktemp("databases"))
    yield databases
    databases.drop_all()


@pytest.fixture(autouse=True)
def _drop_this_tests_databases(scratch: ScratchDatabases) -> Iterator[None]:
    """The databases a test (or its function-scoped fixtures) created go when it ends."""
    since = len(scratch.pg_names)
    yield
    scratch.release(since)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        request.getfixturevalue("postgres_available")
    return request.param


@pytest.fixture
def db_url(backend: str, scratch: ScratchDatabases) -> str:
    """A database of this test's own, migrated to head."""
    return scratch.migrated(backend)


@pytest.fixture
def blank_db_url(backend: str, scratch: ScratchDatabases) -> str:
    """A database of this test's own with nothing in it."""
    return scratch.blank(backend)


@pytest.fixture
def pg_db_url(postgres_available: None, scratch: ScratchDatabases) -> str:
    return scratch.migrated("postgresql")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No inherited configuration, and a working directory with no .env in it."""
    for name in MANAGED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    # Settings are cached per process: a CliRunner invocation with its own environment must
    # not leave its values to the next test (pytest-alembic's env.py reads them directly).
    config = sys.modules.get("app.config")
    if config is not None:
        config.get_settings.cache_clear()


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


Invoke = Callable[..., Outcome]


@pytest.fixture
def cli() -> Invoke:
    """Run `manage ARGS` in this process through Typer's CliRunner."""
    from manage.cli import app

    runner = CliRunner()

    def invoke(
        args: Sequence[str],
        *,
        input: str | None = None,
        env: dict[str, str] | None = None,
        db: str | None = None,
    ) -> Outcome:
        full_env = dict(env or {})
        if db is not None:
            full_env["DATABASE_URL"] = db
        result = runner.invoke(app, list(args), input=input, env=full_env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return invoke


def manage_env(db: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in MANAGED_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    if db is not None:
        env["DATABASE_URL"] = db
    env.update(extra)
    return env


@pytest.fixture
def manage_proc(tmp_path: Path) -> Invoke:
    """Run the installed `manage` console script as a real subprocess, the way ops run it."""

    def invoke(
        args: Sequence[str],
        *,
        input: str | None = None,
        env: dict[str, str] | None = None,
        db: str | None = None,
        timeout: float = 120,
    ) -> Outcome:
        full_env = manage_env(db, **(env or {}))
        proc = subprocess.run(
            [str(MANAGE_BIN), *args],
            input=input,
            env=full_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Outcome(proc.returncode, proc.stdout, proc.stderr)

    return invoke
