"""Rules a seed run may not break, whatever its rows say.

- Append-only tables (the audit log, seed history, migration bookkeeping) are history, not
  seed data: a `models:` section naming one is a 422, and `seed dump` refuses them too.
- The last active superuser: a run that starts with at least one active superuser must end
  with one (the same rule `users deactivate/demote/delete` keep; readiness probes fail
  without one). Otherwise 409 LAST_SUPERUSER and the whole run rolls back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import AppException, ErrorCode

# audit_log and seed_history are models; the other two are bookkeeping tables (no model)
# named here so a project model mapped onto them is refused as well.
APPEND_ONLY_TABLES = frozenset(
    {"audit_log", "seed_history", "manage_revision_checksums", "alembic_version"}
)


def append_only_problem(table_name: str) -> str | None:
    if table_name in APPEND_ONLY_TABLES:
        return f"{table_name} is append-only history; seeds cannot write it"
    return None


async def active_superusers(db: AsyncSession, *, lock: bool) -> list[str]:
    """Emails of the active superusers (row-locked on PostgreSQL when `lock`)."""
    from app.models import User

    table = User.__table__
    query = select(table.c.email).where(table.c.is_superuser.is_(True), table.c.is_active.is_(True))
    if lock:
        query = query.with_for_update()
    return [email for (email,) in (await db.exec(query)).all()]


def _demoting_row(loaded: Any) -> str | None:
    """Where the first row that turns a superuser off or deactivates a user is, for messages."""
    for user in loaded.users:
        data = user.row.data
        if data.get("is_superuser") is False or data.get("is_active") is False:
            return f"{user.row.where()} ({user.seed.email})"
    for section in loaded.models:
        if section.model.__tablename__ != "users":
            continue
        for row in section.rows:
            if row.data.get("is_superuser") in (False, 0) or row.data.get("is_active") in (
                False,
                0,
            ):
                return row.where()
    return None


async def keep_an_active_superuser(db: AsyncSession, *, loaded: Any, before: list[str]) -> None:
    """409 when the run's rows left no active superuser although there was one."""
    if not before or await active_superusers(db, lock=False):
        return
    where = _demoting_row(loaded)
    blamed = f" ({where})" if where else ""
    raise AppException(
        409,
        f"refusing to seed: the run would leave no active superuser{blamed}; "
        f"{', '.join(before[:3])} must stay an active superuser, or seed another one",
        ErrorCode.LAST_SUPERUSER,
    )


def touches_users(loaded: Any) -> bool:
    """Whether the run may change users: a users section, a User model section, or a `.py`
    seed module (which may do anything)."""
    return bool(loaded.users or loaded.modules) or any(
        section.model.__tablename__ == "users" for section in loaded.models
    )


PRODUCTION_SETS = ("base", "production")


def set_label(seed_file: Any, seeds_dir: Path) -> str:
    """The file's set name when it resolves directly into `seeds_dir/<set>/`, else its path."""
    try:
        inside = Path(os.path.realpath(seed_file.path)).relative_to(os.path.realpath(seeds_dir))
    except (OSError, ValueError):
        return seed_file.display
    return seed_file.seed_set if inside.parts[:-1] == (seed_file.seed_set,) else seed_file.display


def production_set(seed_file: Any, seeds_dir: Path) -> bool:
    """Whether `seed_file` belongs to the project's own `base` or `production` set.

    Only a file whose resolved path is directly inside `seeds_dir/base/` or
    `seeds_dir/production/` counts: a folder named `production` anywhere else (or a symlink
    from the seeds directory to one) is just a folder, and needs the production flags.
    """
    return seed_file.seed_set in PRODUCTION_SETS and set_label(seed_file, seeds_dir) in (
        PRODUCTION_SETS
    )
