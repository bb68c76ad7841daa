"""Is the database ready to serve: reachable, one head, migrated to it, a superuser exists."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.services import users
from db import migrations
from db.backfill import discovery as backfill_discovery
from db.backfill.discovery import BackfillState


@dataclass
class Readiness:
    reachable: bool = True
    current: list[str] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    superuser_exists: bool = False
    problems: list[str] = field(default_factory=list)
    # Backfills still owed (db/backfill): reported, never a readiness problem: the app runs
    # while they do (the expand/contract pattern).
    backfills: list[BackfillState] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problems


async def check(engine: AsyncEngine) -> Readiness:
    """Inspect the database; connection errors propagate (the caller decides to retry)."""
    state = await migrations.status(engine)
    report = Readiness(
        current=state.current,
        heads=state.heads,
        pending=[rev.revision for rev in state.pending],
    )
    if len(state.heads) > 1:
        report.problems.append(
            f"the migrations have {len(state.heads)} heads ({', '.join(state.heads)}); "
            "merge them with `alembic merge`"
        )
    if state.edited:
        files = ", ".join(f"{rev.file} ({rev.revision})" for rev in state.edited)
        report.problems.append(
            f"applied revision edited after it was applied: {files}; the database may not "
            'match the file (see docs/migrations.md, "Revision checksums")'
        )
    if not state.at_head:
        at = ", ".join(state.current) or "an empty schema"
        report.problems.append(
            f"database is at {at}, head is {', '.join(state.heads)} "
            f"({len(report.pending)} pending): run `manage migrate upgrade`"
        )
        return report  # the users table may not exist yet
    report.backfills = await backfill_discovery.owed(engine)
    async with AsyncSession(engine) as db:
        report.superuser_exists = await users.count_superusers(db) > 0
    if not report.superuser_exists:
        report.problems.append("no active superuser: run `manage users create-superuser`")
    return report
