"""The migration lock: many processes migrating at once, a holder that will not let go."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.conftest import MANAGE_BIN, fetch, manage_env
from tests.migrations_fixtures import CHAIN, CHAIN_ENV, CHAIN_HEAD, markers


@contextmanager
def hold_pg_migration_lock(url: str, application_name: str) -> Iterator[int]:
    """Hold the migration advisory lock from another session; yield that session's pid."""
    import asyncpg

    from db.migration_lock import MIGRATION_LOCK_KEY

    ready: dict[str, int] = {}
    locked, release = threading.Event(), threading.Event()

    async def hold() -> None:
        conn = await asyncpg.connect(url, server_settings={"application_name": application_name})
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            ready["pid"] = conn.get_server_pid()
            locked.set()
            while not release.is_set():
                await asyncio.sleep(0.05)
        finally:
            await conn.close()

    thread = threading.Thread(target=asyncio.run, args=(hold(),))
    thread.start()
    try:
        assert locked.wait(10), "could not take the advisory lock"
        yield ready["pid"]
    finally:
        release.set()
        thread.join()


@pytest.mark.postgres_only
def test_eight_processes_upgrading_at_once_apply_every_revision_once(
    postgres_available, scratch
) -> None:
    url = scratch.blank("postgresql")
    env = manage_env(url, **CHAIN_ENV)
    procs = [
        subprocess.Popen(
            [str(MANAGE_BIN), "migrate", "upgrade", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outcomes = [(proc.wait(timeout=120), *proc.communicate()) for proc in procs]
    assert [code for code, _, _ in outcomes] == [0] * 8, [err for _, _, err in outcomes]
    applied = [json.loads(stdout)["data"]["applied"] for _, stdout, _ in outcomes]
    # One process migrated everything; the seven others waited and found nothing to do.
    assert sorted(applied, key=len, reverse=True) == [CHAIN] + [[]] * 7
    rows = fetch(url, "SELECT revision, applied_by FROM markers ORDER BY revision")
    assert [revision for revision, _ in rows] == CHAIN
    assert len({pid for _, pid in rows}) == 1  # all by the one session holding the lock
    assert fetch(url, "SELECT version_num FROM alembic_version") == [(CHAIN_HEAD,)]


@pytest.mark.postgres_only
def test_waiter_exits_6_naming_the_holder_after_lock_timeout(postgres_available, scratch) -> None:
    url = scratch.blank("postgresql")
    with hold_pg_migration_lock(url, "deploy-job-42") as holder_pid:
        started = time.monotonic()
        proc = subprocess.run(
            [str(MANAGE_BIN), "migrate", "upgrade", "--lock-timeout", "2"],
            env=manage_env(url, **CHAIN_ENV),
            capture_output=True,
            text=True,
            timeout=60,
        )
        elapsed = time.monotonic() - started
    assert proc.returncode == 6, proc.stderr
    assert elapsed < 2 + 2, elapsed
    assert "Traceback" not in proc.stderr
    *_, error, hint = proc.stderr.strip().splitlines()
    assert error.startswith("error: migration lock not acquired within 2s")
    assert hint == "run it again once the other migration ends, or wait with --lock-timeout"
    assert f"pid {holder_pid}" in error and "'deploy-job-42'" in error and "127.0.0.1" in error
    # While waiting it said who it was waiting for.
    assert f"waiting for the migration lock held by pid {holder_pid}" in proc.stderr
    assert markers(url) is None  # nothing ran


@pytest.mark.postgres_only
def test_waiter_proceeds_once_the_holder_lets_go(postgres_available, scratch) -> None:
    url = scratch.blank("postgresql")
    with hold_pg_migration_lock(url, "short-holder"):
        waiter = subprocess.Popen(
            [str(MANAGE_BIN), "migrate", "upgrade", "--lock-timeout", "30"],
            env=manage_env(url, **CHAIN_ENV),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert waiter.stderr is not None
        first_line = waiter.stderr.readline()  # blocks until the waiter reports the holder
    _, stderr = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, first_line + stderr
    assert first_line.startswith("waiting for the migration lock held by pid")
    assert "'short-holder'" in first_line
    assert markers(url) == CHAIN


def test_sqlite_writer_holding_the_database_is_exit_6(cli, scratch) -> None:
    url = scratch.blank("sqlite")
    holder = sqlite3.connect(url.split(":///", 1)[1], isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        outcome = cli(["migrate", "upgrade", "--lock-timeout", "1"], db=url, env=CHAIN_ENV)
        elapsed = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert outcome.exit_code == 6, outcome.stderr
    assert elapsed < 1 + 2
    assert "migration lock not acquired within 1s" in outcome.stderr
    assert markers(url) is None


@pytest.mark.postgres_only
def test_migration_statement_timeout_applies_to_the_migrations(
    cli, postgres_available, scratch
) -> None:
    url = scratch.blank("postgresql")
    # The chain's first revision sleeps 0.3 s on PostgreSQL.
    env = {**CHAIN_ENV, "MIGRATION_STATEMENT_TIMEOUT": "0.1"}
    outcome = cli(["migrate", "upgrade"], db=url, env=env)
    assert outcome.exit_code == 6, outcome.stderr
    assert "statement timed out" in outcome.stderr
    # The line names the revision and where the database is (nothing applied: base).
    assert f"revision {CHAIN[0]} (marker 1): statement timed out" in outcome.stderr
    assert outcome.stderr.strip().endswith("the database is at base")
    assert markers(url) is None  # the revision's transaction rolled back
    assert cli(["migrate", "upgrade"], db=url, env=CHAIN_ENV).exit_code == 0
    assert markers(url) == CHAIN


@pytest.mark.postgres_only
def test_migration_lock_timeout_stops_a_revision_stuck_behind_a_table_lock(
    cli, postgres_available, scratch
) -> None:
    import asyncpg

    url = scratch.blank("postgresql")
    assert cli(["migrate", "upgrade", "+1"], db=url, env=CHAIN_ENV).exit_code == 0
    locked, release = threading.Event(), threading.Event()

    async def block_markers() -> None:
        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE markers IN ACCESS EXCLUSIVE MODE")
                locked.set()
                while not release.is_set():
                    await asyncio.sleep(0.05)
        finally:
            await conn.close()

    blocker = threading.Thread(target=asyncio.run, args=(block_markers(),))
    blocker.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        env = {**CHAIN_ENV, "MIGRATION_LOCK_TIMEOUT": "0.5"}
        outcome = cli(["migrate", "upgrade"], db=url, env=env)
        elapsed = time.monotonic() - started
    finally:
        release.set()
        blocker.join()
    assert outcome.exit_code == 6, outcome.stderr
    assert f"revision {CHAIN[1]} (marker 2): lock not available (lock_timeout)" in (outcome.stderr)
    assert outcome.stderr.strip().endswith(f"the database is at {CHAIN[0]}")
    assert elapsed < 5
    assert markers(url) == CHAIN[:1]


@pytest.mark.postgres_only
def test_behind_pgbouncer_migrations_need_a_direct_db_migration_url(
    cli, postgres_available, scratch
) -> None:
    url = scratch.blank("postgresql")
    pooled = {**CHAIN_ENV, "DB_PGBOUNCER": "true"}
    outcome = cli(["migrate", "upgrade"], db=url, env=pooled)
    assert outcome.exit_code == 5
    assert "set DB_MIGRATION_URL" in outcome.stderr
    assert markers(url) is None
    direct = {**pooled, "DB_MIGRATION_URL": url}
    outcome = cli(["migrate", "upgrade"], db=url, env=direct)
    assert outcome.exit_code == 0, outcome.stderr
    assert markers(url) == CHAIN
