"""Declarative writes that many replicas run at once (the deploy case) converge.

`seed run`, `roles sync` and `users create-superuser --if-exists skip|update` each read the
current state, then write what differs. Run by eight pods at once, each would see the same
"missing" role or user, and all but one would fail on the unique constraint (exit 4).
Instead each takes one transaction-scoped lock first, so they run one after the other and
every later one finds the work done (no duplicate rows, no duplicate audit rows):

- PostgreSQL: `pg_advisory_xact_lock` on one fixed key, released at commit or rollback;
  `DB_LOCK_TIMEOUT` bounds the wait (PostgreSQL applies lock_timeout to advisory locks).
- SQLite: the runner's sessions BEGIN IMMEDIATE (db/engine.py), which already serializes
  writers for up to DB_SQLITE_BUSY_TIMEOUT; nothing more to do here.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

# Any fixed 64-bit key; this one is int.from_bytes(b"manage:d", "big") >> 1.
DECLARATIVE_LOCK_KEY = 3940851093750324530


async def serialize_declarative_writes(db: AsyncSession) -> None:
    """Wait until no other declarative write (seed, roles sync, ensure-superuser) runs."""
    connection = await db.connection()
    if connection.dialect.name == "postgresql":
        await db.exec(
            text("SELECT pg_advisory_xact_lock(:key)"), params={"key": DECLARATIVE_LOCK_KEY}
        )
