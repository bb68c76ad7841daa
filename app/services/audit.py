from __future__ import annotations

from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import AuditLog


async def record(
    db: AsyncSession, *, actor: str, action: str, target: str, details: dict[str, Any] | None = None
) -> AuditLog:
    """Add an audit row to the caller's transaction. `details` must never hold a secret."""
    entry = AuditLog(actor=actor, action=action, target=target, details=details or {})
    db.add(entry)
    await db.flush()
    return entry


async def list_entries(
    db: AsyncSession,
    *,
    action: str | None = None,
    target: str | None = None,
    limit: int = 50,
) -> list[AuditLog]:
    """The newest `limit` entries, newest first; `action` and `target` (an email in any
    letter case) narrow them."""
    query = _filtered(select(AuditLog), action=action, target=target)
    return list((await db.exec(query.order_by(col(AuditLog.id).desc()).limit(limit))).all())


async def count_entries(
    db: AsyncSession, *, action: str | None = None, target: str | None = None
) -> int:
    """How many entries list_entries() would give without a limit."""
    query = _filtered(select(func.count()).select_from(AuditLog), action=action, target=target)
    return (await db.exec(query)).one()


def _filtered(query: Any, *, action: str | None, target: str | None) -> Any:
    if action is not None:
        query = query.where(AuditLog.action == action)
    if target is not None:
        query = query.where(AuditLog.target == target.lower())
    return query
