"""`manage migrate backfill` on PostgreSQL: a second runner refused, lock timeouts retried,
throttling on lock waiters. Fixtures and the test chain: tests/test_migrate_backfill.py.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from tests.conftest import fetch, run_async
from tests.test_migrate_backfill import (  # noqa: F401 (fixtures)
    ROWS,
    envelope,
    items,
    progress,
    scripts,
    seed_items,
)


def _hold(url: str, statements: list[str], seconds: float, started: threading.Event) -> None:
    """Run `statements` in one transaction on its own connection, hold it `seconds`, roll back."""

    async def go() -> None:
        import asyncpg

        conn = await asyncpg.connect(url, timeout=5)
        try:
            transaction = conn.transaction()
            await transaction.start()
            for statement in statements:
                await conn.execute(statement)
            started.set()
            await asyncio.sleep(seconds)
            await transaction.rollback()
        finally:
            await conn.close()

    run_async(go())


def _in_background(url: str, statements: list[str], seconds: float) -> threading.Thread:
    started = threading.Event()
    thread = threading.Thread(target=_hold, args=(url, statements, seconds, started))
    thread.start()
    assert started.wait(10)
    return thread


def test_postgresql_refuses_a_second_runner_of_the_same_backfill_exit_4(
    cli,
    pg_declared: str,
    scripts: dict[str, str],  # noqa: F811
) -> None:
    from db.backfill.discovery import LOCK_NAMESPACE, lock_id

    holder = _in_background(
        pg_declared, [f"SELECT pg_advisory_lock({LOCK_NAMESPACE}, {lock_id('bf_total')})"], 3
    )
    try:
        status = cli(["migrate", "status", "--json"], db=pg_declared, env=scripts)
        states = {b["name"]: b["state"] for b in envelope(status.stdout)["data"]["backfills"]}
        assert states["bf_total"] == "running"
        result = cli(["migrate", "backfill", "bf_total", "--json"], db=pg_declared, env=scripts)
    finally:
        holder.join()
    assert result.exit_code == 4
    assert envelope(result.stdout)["error_code"] == "CONFLICT"
    assert "backfill 'bf_total' is already running in pid" in result.stderr
    assert progress(pg_declared, "bf_total") == ("pending", None, 0, 0)


def test_postgresql_a_batch_past_lock_timeout_is_retried_and_the_run_completes(
    cli,
    pg_declared: str,
    scripts: dict[str, str],  # noqa: F811
) -> None:
    # Another transaction holds row 15 for 1.5 s; each batch may wait 0.2 s for a lock.
    holder = _in_background(pg_declared, ["UPDATE bf_items SET qty = qty WHERE id = 15"], 1.5)
    try:
        result = cli(
            ["migrate", "backfill", "bf_total", "--json"],
            db=pg_declared,
            env={**scripts, "MIGRATION_LOCK_TIMEOUT": "0.2"},
        )
    finally:
        holder.join()
    assert result.exit_code == 0, result.stderr
    report = envelope(result.stdout)["data"][0]
    assert report["state"] == "complete" and report["retries"] >= 1
    assert [row[:3] for row in items(pg_declared)] == [(i, 2 * i, 1) for i in range(1, ROWS + 1)]


def test_postgresql_throttles_while_sessions_wait_for_locks_and_stops_at_max_seconds(
    cli,
    pg_declared: str,
    scripts: dict[str, str],  # noqa: F811
) -> None:
    # One session holds a lock on an unrelated table, a second one waits for it.
    fetch(pg_declared, "CREATE TABLE bf_other (id integer)")
    holder = _in_background(pg_declared, ["LOCK TABLE bf_other IN ACCESS EXCLUSIVE MODE"], 6)
    waiter = threading.Thread(
        target=lambda: fetch(pg_declared, "SELECT count(*) FROM bf_other"), daemon=True
    )
    waiter.start()
    time.sleep(0.5)
    try:
        args = ["migrate", "backfill", "bf_total", "--max-lock-waiters", "0"]
        result = cli([*args, "--max-seconds", "2", "--json"], db=pg_declared, env=scripts)
    finally:
        holder.join()
        waiter.join(10)
    assert result.exit_code == 0, result.stderr
    report = envelope(result.stdout)["data"][0]
    assert (report["state"], report["batches"]) == ("stopped", 0)
    assert report["throttled_seconds"] >= 1
    throttled = [json.loads(line) for line in result.stderr.splitlines()][1]
    assert throttled["event"] == "throttle"
    assert "sessions waiting for locks > 0" in throttled["detail"]
    assert progress(pg_declared, "bf_total") == ("pending", None, 0, 0)


@pytest.fixture
def pg_declared(cli, pg_db_url: str, scripts: dict[str, str]) -> str:  # noqa: F811
    assert cli(["migrate", "upgrade", "bf000001"], db=pg_db_url, env=scripts).exit_code == 0
    seed_items(pg_db_url)
    assert cli(["migrate", "upgrade", "bf000002"], db=pg_db_url, env=scripts).exit_code == 0
    return pg_db_url
