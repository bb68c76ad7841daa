"""Upsert rows by natural key for `seed run`: users (roles by name) and any table model.

Existing rows are read in chunks and compared column by column; only what differs is
written (Core statements, executemany for new rows). Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Role, User, UserRole
from app.models._columns import utcnow
from app.models.user import new_security_stamp
from app.schemas.seed import ModelCounts, RowChange
from app.services.seed_rows import UserRow, invalid

CHUNK = 500


DRY_RUN_HASH = "<dry run: not hashed>"


class Tally:
    def __init__(self) -> None:
        self.counts: dict[str, ModelCounts] = {}
        self.changes: list[RowChange] = []

    def count(self, model: str) -> ModelCounts:
        return self.counts.setdefault(model, ModelCounts(model=model))

    def created(self, model: str, key: str) -> None:
        self.count(model).created += 1
        self.changes.append(RowChange(op="create", model=model, key=key))

    def updated(self, model: str, key: str, fields: Iterable[str]) -> None:
        self.count(model).updated += 1
        self.changes.append(RowChange(op="update", model=model, key=key, fields=sorted(fields)))

    def unchanged(self, model: str, n: int = 1) -> None:
        self.count(model).unchanged += n


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(current, datetime) and isinstance(wanted, datetime):
        # SQLite returns naive UTC timestamps.
        current = current if current.tzinfo else current.replace(tzinfo=UTC)
        wanted = wanted if wanted.tzinfo else wanted.replace(tzinfo=UTC)
    return current == wanted


async def _role_ids(db: AsyncSession, users: list[UserRow]) -> dict[str, int]:
    names = sorted({name for user in users for name in user.seed.roles or []})
    if not names:
        return {}
    query = select(Role.id, Role.name).where(Role.name.in_(names))  # type: ignore[attr-defined]
    found = {name: role_id for role_id, name in (await db.exec(query)).all()}
    for user in users:
        for name in user.seed.roles or []:
            if name not in found:
                raise invalid(user.row.where("roles"), f"no role {name!r} (seed it under roles:)")
    return found


def user_audit_row(actor: str, op: str, email: str, details: dict[str, Any]) -> dict[str, Any]:
    """The audit row `users create` / `users update` would write, marked as a seed's (as
    audit_log column values: written in bulk by `write_audit_rows`, not one ORM object each)."""
    action = "user.create" if op == "create" else "user.update"
    return {
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "target": email,
        "details": {**details, "via": "seed"},
    }


async def write_audit_rows(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Audit rows in bulk (COPY on PostgreSQL for many): 20,000 ORM objects cost seconds."""
    from app.models import AuditLog
    from app.services.seed_models import insert_rows

    if rows:
        await insert_rows(db, AuditLog.__table__, rows)


async def seed_users(
    db: AsyncSession, users: list[UserRow], tally: Tally, dry_run: bool, *, actor: str
) -> None:
    """Upsert the `users:` rows; one audit row per user created or changed."""
    from app.security import hash_password

    role_ids = await _role_ids(db, users)
    existing: dict[str, Any] = {}
    for chunk in _chunks([u.seed.email for u in users]):
        query = select(User.__table__).where(User.__table__.c.email.in_(chunk))
        existing.update({row.email: row for row in (await db.exec(query)).all()})
    held: dict[int, set[int]] = {}
    ids = [row.id for row in existing.values()]
    for chunk in _chunks(ids):
        query = select(UserRole.user_id, UserRole.role_id).where(UserRole.user_id.in_(chunk))  # type: ignore[attr-defined]
        for user_id, role_id in (await db.exec(query)).all():
            held.setdefault(user_id, set()).add(role_id)

    hashes: dict[str, str] = {}  # each distinct password is hashed once per run

    def hashed(user: UserRow) -> str:
        if user.password_hash is not None:
            return user.password_hash
        if user.password is None:
            raise invalid(
                user.row.where(),
                "a new user needs password_env, password_file, password_hash or password",
            )
        if dry_run:
            return DRY_RUN_HASH
        plain = user.password.get_secret_value()
        if plain not in hashes:
            hashes[plain] = hash_password(plain)
        return hashes[plain]

    now = utcnow()
    audits: list[Any] = []
    new_rows: list[dict[str, Any]] = []
    role_links: list[tuple[str, set[int]]] = []
    for user in users:
        seed = user.seed
        wanted_roles = {role_ids[n] for n in seed.roles} if seed.roles is not None else None
        current = existing.get(seed.email)
        if current is None:
            new_rows.append(
                {
                    "email": seed.email,
                    "full_name": seed.full_name,
                    "hashed_password": hashed(user),
                    "is_active": seed.is_active,
                    "is_superuser": seed.is_superuser,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            tally.created("User", seed.email)
            audits.append(
                user_audit_row(
                    actor,
                    "create",
                    seed.email,
                    {"is_superuser": seed.is_superuser, "is_active": seed.is_active},
                )
            )
            if wanted_roles:
                role_links.append((seed.email, wanted_roles))
            continue
        values = {
            name: getattr(seed, name)
            for name in ("full_name", "is_active", "is_superuser")
            if name in user.given and getattr(current, name) != getattr(seed, name)
        }
        if user.password_hash is not None and current.hashed_password != user.password_hash:
            values["hashed_password"] = user.password_hash
        fields = [("password" if k == "hashed_password" else k) for k in values]
        have = held.get(current.id, set())
        if wanted_roles is not None and wanted_roles != have:
            fields.append("roles")
            await _set_roles(db, current.id, have=have, want=wanted_roles)
        if values.keys() & {"hashed_password", "is_active", "is_superuser"} or "roles" in fields:
            values["security_stamp"] = new_security_stamp()  # ends the user's API tokens
        if values:
            values["updated_at"] = now
            await db.exec(
                update(User.__table__).where(User.__table__.c.id == current.id).values(**values)
            )
        if fields:
            tally.updated("User", seed.email, fields)
            changes = {k: v for k, v in values.items() if k in ("is_active", "is_superuser")}
            audits.append(
                user_audit_row(actor, "update", seed.email, {"fields": sorted(fields), **changes})
            )
        else:
            tally.unchanged("User")
    from app.services.seed_models import insert_rows

    await insert_rows(db, User.__table__, new_rows)  # COPY on PostgreSQL
    if role_links:
        emails = [email for email, _ in role_links]
        new_ids: dict[str, int] = {}
        for chunk in _chunks(emails):
            query = select(User.__table__.c.email, User.__table__.c.id).where(
                User.__table__.c.email.in_(chunk)
            )
            new_ids.update(dict((await db.exec(query)).all()))
        links = [
            {"user_id": new_ids[e], "role_id": r} for e, roles in role_links for r in sorted(roles)
        ]
        for chunk in _chunks(links):
            await db.exec(insert(UserRole.__table__), params=list(chunk))

    await write_audit_rows(db, audits)


async def _set_roles(db: AsyncSession, user_id: int, *, have: set[int], want: set[int]) -> None:
    table = UserRole.__table__
    if have - want:
        await db.exec(
            delete(table).where(
                table.c.user_id == user_id, table.c.role_id.in_(sorted(have - want))
            )
        )
    if want - have:
        await db.exec(
            insert(table), params=[{"user_id": user_id, "role_id": r} for r in sorted(want - have)]
        )
