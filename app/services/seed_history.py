"""seed_history: one row per file a run applied (with its fingerprint), and `seed status`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import SeedHistory
from app.models._columns import utcnow
from app.schemas.seed import SeedFileStatus
from app.services import audit
from app.services.seed_files import SeedFile
from app.services.seed_upsert import Tally


async def record(
    db: AsyncSession,
    files: list[SeedFile],
    *,
    actor: str,
    tally: Tally,
    fingerprints: dict[str, str],
) -> None:
    """One row per file (with its fingerprint, when the run vouched for one) and the run's
    `seed.run` audit row."""
    now = utcnow()
    db.add_all(
        SeedHistory(
            seed_set=f.seed_set,
            file=f.name,
            checksum=f.checksum,
            applied_at=now,
            actor=actor,
            fingerprint=fingerprints.get(f.name),
        )
        for f in files
    )
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="seed.run",
        target=",".join(dict.fromkeys(f.seed_set for f in files))[:320],
        details={
            "files": [f.name for f in files],
            "models": {m.model: m.model_dump(exclude={"model"}) for m in tally.counts.values()},
        },
    )


async def seed_status(db: AsyncSession, *, on_disk: list[SeedFile]) -> list[SeedFileStatus]:
    """Each seed file on disk or in the history: applied, changed since, new, or missing."""
    table = SeedHistory.__table__
    query = select(table.c.seed_set, table.c.file, table.c.checksum, table.c.applied_at).order_by(
        table.c.id
    )
    last: dict[str, Any] = {}
    for row in (await db.exec(query)).all():
        last[row.file] = row
    statuses = []
    for seed_file in on_disk:
        applied = last.pop(seed_file.name, None)
        if applied is None:
            state = "new"
        else:
            state = "applied" if applied.checksum == seed_file.checksum else "changed"
        statuses.append(
            SeedFileStatus(
                seed_set=seed_file.seed_set,
                file=seed_file.name,
                state=state,
                checksum=seed_file.checksum,
                applied_checksum=applied.checksum if applied else None,
                applied_at=applied.applied_at if applied else None,
            )
        )
    for row in last.values():
        statuses.append(
            SeedFileStatus(
                seed_set=row.seed_set,
                file=row.file,
                state="missing",
                checksum=None,
                applied_checksum=row.checksum,
                applied_at=row.applied_at,
            )
        )
    return statuses
