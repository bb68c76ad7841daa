"""PostgreSQL-only parts of a backfill run: the per-backfill session lock and the health check.

The lock: `pg_try_advisory_lock(LOCK_NAMESPACE, crc32(name) & 0x7fffffff)`, session-level, held
for the whole run of one backfill: a second runner is refused (exit 4, naming the holder's pid)
and `migrate status` reports "running". The health check runs between batches: replication lag
(`pg_stat_replication.replay_lag`, as the primary sees its replicas) and the sessions of this
database waiting for a lock.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db.backfill.discovery import LOCK_NAMESPACE, lock_id
from db.errors import Conflict

if TYPE_CHECKING:
    from db.backfill.runner import Report, RunState

THROTTLE_POLL = 1.0  # seconds between health checks while throttled

_HEALTH = sa.text(
    "SELECT (SELECT coalesce(max(extract(epoch FROM replay_lag)), 0) FROM pg_stat_replication)"
    " AS lag, (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    " AND datname = current_database()) AS waiters"
)


async def healthy(conn: AsyncConnection, report: Report, run: RunState) -> bool:
    """Wait while the server is under strain (PostgreSQL); False when the deadline passes."""
    if conn.dialect.name != "postgresql":
        return True
    while True:
        row = (await conn.execute(_HEALTH)).one()
        await conn.commit()
        lag, waiters = float(row.lag or 0), int(row.waiters or 0)
        if lag <= run.options.max_lag and waiters <= run.options.max_lock_waiters:
            return True
        reason = (
            f"replication lag {lag:.1f}s > {run.options.max_lag:g}s"
            if lag > run.options.max_lag
            else f"{waiters} sessions waiting for locks > {run.options.max_lock_waiters}"
        )
        run.emit("throttle", report, reason)
        wait = min(THROTTLE_POLL, run.left())
        if wait <= 0:
            return False
        report.throttled_seconds += wait
        await asyncio.sleep(wait)


async def lock(conn: AsyncConnection, name: str) -> None:
    params = {"ns": LOCK_NAMESPACE, "id": lock_id(name)}
    got = (await conn.execute(sa.text("SELECT pg_try_advisory_lock(:ns, :id)"), params)).scalar()
    holder = None
    if not got:
        holder = (
            await conn.execute(
                sa.text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND classid = :ns AND objid = :id AND objsubid = 2 AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1"
                ),
                params,
            )
        ).scalar()
    await conn.commit()
    if not got:
        who = f"pid {holder}" if holder is not None else "another session"
        raise Conflict(f"backfill {name!r} is already running in {who}", code="CONFLICT")


async def unlock(conn: AsyncConnection, name: str) -> None:
    try:
        if conn.in_transaction():
            await conn.rollback()
        await conn.execute(
            sa.text("SELECT pg_advisory_unlock(:ns, :id)"),
            {"ns": LOCK_NAMESPACE, "id": lock_id(name)},
        )
        await conn.commit()
    except Exception:
        await conn.invalidate()  # closing the session releases the lock
