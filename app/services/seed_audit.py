"""Audit rows for what a seed run does to users through `models:` sections.

The same rows the `users` and `roles` commands write, so the audit log reads the same whatever
made the change: `user.create` / `user.update` (target the email; flags and changed fields,
never a password; `"via": "seed"`) for a `User` section, `role.grant` (target the email,
details the role) for a `UserRole` section. Other tables are not audited per row; the run's
`seed.run` row names the files and counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.services.seed_upsert import _chunks, user_audit_row, write_audit_rows

OnChange = Callable[[str, dict[str, Any], list[str]], Awaitable[None]]


def model_auditor(db: AsyncSession, section: Any, actor: str) -> OnChange | None:
    """The `on_change` callback seed_model calls for each row of `section`, or None."""
    table = section.model.__tablename__
    if table == "users":
        return _users(db, actor)
    if table == "user_roles":
        return _user_roles(db, actor)
    return None


def _users(db: AsyncSession, actor: str) -> OnChange:
    pending: list[dict[str, Any]] = []

    async def on_change(op: str, values: dict[str, Any], fields: list[str]) -> None:
        flags = {k: values[k] for k in ("is_active", "is_superuser") if k in values}
        details: dict[str, Any] = {
            "fields": [f for f in fields if f != "hashed_password"],
            **flags,
        }
        if "hashed_password" in fields:
            details["password_changed"] = True
        target = str(values.get("email") or ",".join(f"{k}={v}" for k, v in values.items()))
        pending.append(user_audit_row(actor, op, target[:320], details))

    async def finish() -> None:  # seed_model calls it once the section is written
        await write_audit_rows(db, pending)
        pending.clear()

    on_change.finish = finish  # type: ignore[attr-defined]
    return on_change


def _user_roles(db: AsyncSession, actor: str) -> OnChange:
    from app.models import Role, User
    from app.models._columns import utcnow

    pending: list[tuple[int, int]] = []

    async def on_change(op: str, values: dict[str, Any], fields: list[str]) -> None:
        if op == "create":  # a link has no other columns to change
            pending.append((values["user_id"], values["role_id"]))

    async def finish() -> None:
        """One `role.grant` row per link created, the emails and role names read set-based."""
        users, roles = User.__table__, Role.__table__
        emails, names = {}, {}
        user_ids = sorted({u for u, _ in pending})
        role_ids = sorted({r for _, r in pending})
        for chunk in _chunks(user_ids):
            query = select(users.c.id, users.c.email).where(users.c.id.in_(chunk))
            emails.update(dict((await db.exec(query)).all()))
        for chunk in _chunks(role_ids):
            query = select(roles.c.id, roles.c.name).where(roles.c.id.in_(chunk))
            names.update(dict((await db.exec(query)).all()))
        rows = [
            {
                "at": utcnow(),
                "actor": actor,
                "action": "role.grant",
                "target": emails[user_id],
                "details": {"role": names[role_id], "via": "seed"},
            }
            for user_id, role_id in pending
        ]
        await write_audit_rows(db, rows)
        pending.clear()

    on_change.finish = finish  # type: ignore[attr-defined]
    return on_change
