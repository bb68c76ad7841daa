"""`seed fake users` on PostgreSQL when emails may already be there (a rerun, --role).

COPY (email, full_name) into a temporary table, then insert the emails not there yet.
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime
from typing import Any

from app.services.fake_copy import copy_rows

# The users columns a fake row fills, in COPY order (app/services/fake_users.py builds them).
COLUMNS = (
    "email",
    "full_name",
    "hashed_password",
    "is_active",
    "is_superuser",
    "created_at",
    "updated_at",
)
TEMP_TABLE = "_seed_fake_users"


class AntiJoinInsert:
    """COPY (email, full_name) into a temporary table, then insert the emails not there yet.

    The columns every row shares travel once, as parameters. The anti-join drops existing
    emails in one hash join, so a rerun costs little (ON CONFLICT alone pays a speculative
    insert per row); ON CONFLICT still covers a concurrent run inserting the same email.
    With a role, the new ids are linked to it in the same statement."""

    def __init__(
        self,
        raw: Any,
        hashed: str | None,
        now: datetime,
        role_id: int | None,
        *,
        hashing: Future[str] | None = None,
    ) -> None:
        self.raw, self.hashing, self.made = raw, hashing, False
        self.params: tuple[Any, ...] = (hashed, now)
        insert = (
            f"INSERT INTO users ({', '.join(COLUMNS)}) "
            f"SELECT t.email, t.full_name, $1, true, false, $2, $2 FROM {TEMP_TABLE} t "
            "WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.email = t.email) "
            "ORDER BY t.email ON CONFLICT (email) DO NOTHING"
        )
        if role_id is not None:
            insert = (
                f"WITH new AS ({insert} RETURNING id), "
                "linked AS (INSERT INTO user_roles (user_id, role_id) SELECT id, $3 FROM new) "
                "SELECT count(*) FROM new"
            )
            self.params = (hashed, now, role_id)
        self.insert, self.role_id = insert, role_id

    async def __call__(self, batch: list[tuple[Any, ...]]) -> int:
        if self.params[0] is None and self.hashing is not None:
            self.params = (self.hashing.result(), *self.params[1:])
        if not self.made:
            await self.raw.execute(
                f"CREATE TEMP TABLE {TEMP_TABLE} (email text, full_name text) ON COMMIT DROP"
            )
            self.made = True
        records = [row[:2] for row in batch]
        await copy_rows(self.raw, TEMP_TABLE, records, ("email", "full_name"))
        if self.role_id is None:
            status = await self.raw.execute(self.insert, *self.params)  # "INSERT 0 <rows>"
            created = int(status.rsplit(" ", 1)[1])
        else:
            created = int(await self.raw.fetchval(self.insert, *self.params))
        await self.raw.execute(f"TRUNCATE {TEMP_TABLE}")
        return created

    async def close(self) -> None:
        if self.made:
            await self.raw.execute(f"DROP TABLE {TEMP_TABLE}")
