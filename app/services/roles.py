"""Roles, their permissions and who holds them. The CLI and the API both call these.

Stateless async functions: `db` first, keyword-only after; they flush, never commit, and
write one audit row per change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlmodel import col, delete, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import AppException, ErrorCode
from app.models import Role, RolePermission, User, UserRole
from app.models.user import new_security_stamp
from app.permissions import (
    check_permissions,
    check_role_name,
    grants,
    not_found,
)
from app.schemas.role import (
    EffectivePermission,
    RoleChange,
    RoleDeleted,
    RoleRead,
    UserPermissions,
)
from app.schemas.user import normalize_email
from app.services import audit

SUPERUSER_SOURCE = "superuser"


async def find_role(db: AsyncSession, *, name: str) -> Role | None:
    return (await db.exec(select(Role).where(Role.name == name))).first()


async def get_role(db: AsyncSession, *, name: str) -> Role:
    """The role called `name`; AppException(404) when there is none."""
    role = await find_role(db, name=name)
    if role is None:
        raise not_found("role", name)
    return role


async def permissions_by_role(
    db: AsyncSession, *, role_ids: Sequence[int] | None = None
) -> dict[int, list[str]]:
    query = select(RolePermission).order_by(col(RolePermission.permission))
    if role_ids is not None:
        query = query.where(col(RolePermission.role_id).in_(role_ids))
    found: dict[int, list[str]] = {}
    for row in (await db.exec(query)).all():
        found.setdefault(row.role_id, []).append(row.permission)
    return found


async def member_counts(
    db: AsyncSession, *, role_ids: Sequence[int] | None = None
) -> dict[int, int]:
    query = select(UserRole.role_id, func.count()).group_by(col(UserRole.role_id))
    if role_ids is not None:
        query = query.where(col(UserRole.role_id).in_(role_ids))
    return {role_id: count for role_id, count in (await db.exec(query)).all()}


async def _read(db: AsyncSession, roles: Sequence[Role]) -> list[RoleRead]:
    ids = [role.id for role in roles if role.id is not None]
    permissions = await permissions_by_role(db, role_ids=ids)
    counts = await member_counts(db, role_ids=ids)
    return [
        RoleRead(
            name=role.name,
            description=role.description,
            permissions=permissions.get(role.id or 0, []),
            member_count=counts.get(role.id or 0, 0),
            created_at=role.created_at,
        )
        for role in roles
    ]


async def list_roles(db: AsyncSession) -> list[RoleRead]:
    """Every role by name, with its permissions and member count."""
    roles = (await db.exec(select(Role).order_by(col(Role.name)))).all()
    return await _read(db, roles)


async def describe_role(db: AsyncSession, *, name: str) -> RoleRead:
    return (await _read(db, [await get_role(db, name=name)]))[0]


async def create_role(
    db: AsyncSession,
    *,
    name: str,
    description: str = "",
    permissions: Iterable[str] = (),
    actor: str,
) -> Role:
    """Create a role. A bad name or permission is a 422 naming it; an existing name a 409."""
    check_role_name(name)
    wanted = check_permissions(permissions)
    if await find_role(db, name=name) is not None:
        raise AppException(409, f"role {name} already exists", ErrorCode.ROLE_EXISTS)
    role = Role(name=name, description=description)
    db.add(role)
    try:
        await db.flush()
    except IntegrityError as exc:
        raise AppException(409, f"role {name} already exists", ErrorCode.ROLE_EXISTS) from exc
    assert role.id is not None
    db.add_all(RolePermission(role_id=role.id, permission=p) for p in wanted)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="role.create",
        target=name,
        details={"description": description, "permissions": wanted},
    )
    return role


async def update_description(db: AsyncSession, *, role: Role, description: str, actor: str) -> None:
    if role.description == description:
        return
    before = role.description
    role.description = description
    db.add(role)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="role.update",
        target=role.name,
        details={"description": {"from": before, "to": description}},
    )


async def delete_role(
    db: AsyncSession, *, name: str, force: bool = False, actor: str
) -> RoleDeleted:
    """Delete a role. A role that users still hold is a 409 unless `force` (they lose it)."""
    role = await get_role(db, name=name)
    assert role.id is not None
    members = (await member_counts(db, role_ids=[role.id])).get(role.id, 0)
    if members and not force:
        raise AppException(
            409,
            f"role {name} is held by {members} user(s); use --force to delete it anyway",
            ErrorCode.ROLE_IN_USE,
        )
    permissions = (await permissions_by_role(db, role_ids=[role.id])).get(role.id, [])
    holders = select(User.email).join(UserRole, col(UserRole.user_id) == col(User.id))
    emails = list((await db.exec(holders.where(UserRole.role_id == role.id))).all())
    if emails:  # the holders lose a role: end their API tokens, as `revoke` does
        await db.exec(
            update(User)
            .where(col(User.id).in_(select(UserRole.user_id).where(UserRole.role_id == role.id)))
            .values(security_stamp=new_security_stamp())
        )
    # Core deletes: the ORM would lazy-load both collections first, which async forbids.
    await db.exec(delete(UserRole).where(col(UserRole.role_id) == role.id))
    await db.exec(delete(RolePermission).where(col(RolePermission.role_id) == role.id))
    await db.exec(delete(Role).where(col(Role.id) == role.id))
    db.expunge(role)
    await audit.record(
        db,
        actor=actor,
        action="role.delete",
        target=name,
        details={"members_removed": sorted(emails), "permissions": permissions},
    )
    return RoleDeleted(name=name, members_removed=members)


async def _users_by_email(db: AsyncSession, emails: Iterable[str]) -> list[User]:
    """The users for `emails` (roles loaded), in order; one 404 naming every unknown address."""
    addresses = list(dict.fromkeys(normalize_email(e) for e in emails))
    query = select(User).where(col(User.email).in_(addresses)).options(selectinload(User.roles))
    found = {user.email: user for user in (await db.exec(query)).all()}
    missing = [a for a in addresses if a not in found]
    if missing:
        raise not_found("users" if len(missing) > 1 else "user", ", ".join(missing))
    return [found[a] for a in addresses]


async def _set_membership(
    db: AsyncSession, *, role: str, emails: Iterable[str], actor: str, member: bool
) -> RoleChange:
    found = await get_role(db, name=role)
    action = "grant" if member else "revoke"
    changed, unchanged = [], []
    for user in await _users_by_email(db, emails):
        if (found in user.roles) == member:
            unchanged.append(user.email)
            continue
        # Through the relationship, so a User already in this session sees the change.
        if member:
            user.roles.append(found)
        else:
            user.roles.remove(found)
        user.security_stamp = new_security_stamp()  # ends the user's API tokens
        await db.flush()
        await audit.record(
            db, actor=actor, action=f"role.{action}", target=user.email, details={"role": role}
        )
        changed.append(user.email)
    return RoleChange(role=role, action=action, changed=changed, unchanged=unchanged)


async def grant(db: AsyncSession, *, role: str, emails: Iterable[str], actor: str) -> RoleChange:
    """Give `role` to each user. Unknown role or user: 404 and nothing changes."""
    return await _set_membership(db, role=role, emails=emails, actor=actor, member=True)


async def revoke(db: AsyncSession, *, role: str, emails: Iterable[str], actor: str) -> RoleChange:
    """Take `role` from each user. Unknown role or user: 404 and nothing changes."""
    return await _set_membership(db, role=role, emails=emails, actor=actor, member=False)


async def set_permissions(
    db: AsyncSession,
    *,
    role: Role,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    actor: str,
) -> tuple[list[str], list[str]]:
    """Add and remove permissions on `role`; returns what was really added and removed."""
    assert role.id is not None
    current = set((await permissions_by_role(db, role_ids=[role.id])).get(role.id, []))
    to_add = [p for p in check_permissions(add) if p not in current]
    to_remove = [p for p in check_permissions(remove) if p in current]
    db.add_all(RolePermission(role_id=role.id, permission=p) for p in to_add)
    if to_remove:
        await db.exec(
            delete(RolePermission).where(
                col(RolePermission.role_id) == role.id,
                col(RolePermission.permission).in_(to_remove),
            )
        )
    await db.flush()
    if to_add:
        await audit.record(
            db, actor=actor, action="role.permit", target=role.name, details={"permissions": to_add}
        )
    if to_remove:
        await audit.record(
            db,
            actor=actor,
            action="role.forbid",
            target=role.name,
            details={"permissions": to_remove},
        )
    return to_add, to_remove


async def permit(
    db: AsyncSession, *, role: str, permissions: Iterable[str], actor: str
) -> RoleChange:
    wanted = check_permissions(permissions)
    added, _ = await set_permissions(
        db, role=await get_role(db, name=role), add=wanted, actor=actor
    )
    unchanged = [p for p in wanted if p not in added]
    return RoleChange(role=role, action="permit", changed=added, unchanged=unchanged)


async def forbid(
    db: AsyncSession, *, role: str, permissions: Iterable[str], actor: str
) -> RoleChange:
    wanted = check_permissions(permissions)
    _, removed = await set_permissions(
        db, role=await get_role(db, name=role), remove=wanted, actor=actor
    )
    unchanged = [p for p in wanted if p not in removed]
    return RoleChange(role=role, action="forbid", changed=removed, unchanged=unchanged)


async def permission_sources(db: AsyncSession, *, user: User) -> dict[str, list[str]]:
    """Each permission `user` holds -> the roles (or "superuser") it comes from."""
    query = (
        select(Role.name, RolePermission.permission)
        .join(UserRole, col(UserRole.role_id) == col(Role.id))
        .join(RolePermission, col(RolePermission.role_id) == col(Role.id))
        .where(UserRole.user_id == user.id)
        .order_by(col(RolePermission.permission), col(Role.name))
    )
    sources: dict[str, list[str]] = {}
    if user.is_superuser:
        sources["*"] = [SUPERUSER_SOURCE]
    for role_name, permission in (await db.exec(query)).all():
        sources.setdefault(permission, []).append(role_name)
    return dict(sorted(sources.items()))


async def user_has_permission(db: AsyncSession, *, user: User, permission: str) -> bool:
    """True when `user` holds `permission` (superusers hold every permission)."""
    if user.is_superuser:
        return True
    return grants(await permission_sources(db, user=user), permission)


async def role_names_of(db: AsyncSession, *, user: User) -> list[str]:
    query = (
        select(Role.name)
        .join(UserRole, col(UserRole.role_id) == col(Role.id))
        .where(UserRole.user_id == user.id)
        .order_by(col(Role.name))
    )
    return list((await db.exec(query)).all())


async def effective_permissions(db: AsyncSession, *, email: str) -> UserPermissions:
    """What `email` may do and where each permission comes from. Unknown user: 404."""
    [user] = await _users_by_email(db, [email])
    sources = await permission_sources(db, user=user)
    return UserPermissions(
        email=user.email,
        is_active=user.is_active,
        is_superuser=user.is_superuser,
        roles=await role_names_of(db, user=user),
        permissions=[EffectivePermission(permission=p, granted_by=s) for p, s in sources.items()],
    )
