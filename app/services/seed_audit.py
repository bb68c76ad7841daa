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

from app.services.seed_upsert import user_audit_row

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
    async def on_change(op: str, values: dict[str, Any], fields: list[str]) -> None:
        flags = {k: values[k] for k in ("is_active", "is_superuser") if k in values}
        details: dict[str, Any] = {
            "fields": [f for f in fields if f != "hashed_password"],
            **flags,
        }
        if "hashed_password" in fields:
            details["password_changed"] = True
        target = str(values.get("email") or ",".join(f"{k}={v}" for k, v in values.items()))
        db.add(user_audit_row(actor, op, target[:320], details))
        await db.flush()

    return on_change


def _user_roles(db: AsyncSession, actor: str) -> OnChange:
    from app.models import AuditLog, Role, User

    async def on_change(op: str, values: dict[str, Any], fields: list[str]) -> None:
        if op != "create":
            return  # a link has no other columns to change
        users, roles = User.__table__, Role.__table__
        email = (
            await db.exec(select(users.c.email).where(users.c.id == values["user_id"]))
        ).scalar_one()
        role = (
            await db.exec(select(roles.c.name).where(roles.c.id == values["role_id"]))
        ).scalar_one()
        db.add(
            AuditLog(
                actor=actor,
                action="role.grant",
                target=email,
                details={"role": role, "via": "seed"},
            )
        )
        await db.flush()

    return on_change
