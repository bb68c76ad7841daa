"""User accounts. Every mutation writes an audit row in the caller's transaction."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.choices import IfExists
from app.config import get_settings
from app.errors import AppException, ErrorCode
from app.models import User
from app.models._columns import utcnow
from app.models.user import new_security_stamp
from app.schemas.user import UserCreate
from app.security import check_password_policy, hash_password, is_same_password
from app.services import audit


class Outcome(StrEnum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"


def _not_found(email: str) -> AppException:
    return AppException(404, f"user {email} not found", ErrorCode.USER_NOT_FOUND)


def _exists(email: str) -> AppException:
    return AppException(409, f"user {email} already exists", ErrorCode.USER_EXISTS)


def _check_policy(password: str, email: str) -> None:
    check_password_policy(
        password, min_length=get_settings().security.password_min_length, email=email
    )


async def get_user_by_email(db: AsyncSession, *, email: str) -> User | None:
    query = select(User).where(User.email == email.strip().lower())
    return (await db.exec(query.options(selectinload(User.roles)))).first()


async def account_exists(db: AsyncSession, *, email: str) -> bool:
    """Whether an account has this email (any letter case).

    Reads only users.id and users.email, which every schema revision has, so it answers on a
    database not migrated to head yet; a database without a users table has no account."""
    from sqlalchemy import inspect

    connection = await db.connection()
    if not await connection.run_sync(lambda c: inspect(c).has_table(User.__tablename__)):
        return False
    query = select(User.id).where(User.email == email.strip().lower())
    return (await db.exec(query)).first() is not None


async def get_user(db: AsyncSession, *, email: str) -> User:
    """The user with this email (any letter case); 404 when there is none."""
    user = await get_user_by_email(db, email=email)
    if user is None:
        raise _not_found(email.strip().lower())
    return user


async def create_user(db: AsyncSession, *, data: UserCreate, actor: str) -> User:
    """Create a user after applying the password policy. An existing email is a 409."""
    password = data.password.get_secret_value()
    _check_policy(password, data.email)
    if await get_user_by_email(db, email=data.email) is not None:
        raise _exists(data.email)
    user = User(
        email=data.email,
        full_name=data.full_name,
        hashed_password=hash_password(password),
        is_superuser=data.is_superuser,
        is_active=data.is_active,
        roles=[],  # loaded (empty), so reading it never lazy-loads in async code
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:
        # Another transaction inserted the same email between our check and our insert.
        raise _exists(data.email) from exc
    await audit.record(
        db,
        actor=actor,
        action="user.create",
        target=user.email,
        details={"is_superuser": user.is_superuser, "is_active": user.is_active},
    )
    return user


async def ensure_superuser(
    db: AsyncSession, *, data: UserCreate, actor: str, if_exists: IfExists = IfExists.error
) -> tuple[User, Outcome]:
    """Create a superuser; when the email exists, fail (409), leave it, or promote it.

    `update` promotes, reactivates and sets the given password (policy applied). Concurrent
    calls for one email (replicas on deploy) run one after another, so `skip` and `update`
    never fail on another process's insert (app/services/convergence.py).
    """
    from app.services.convergence import serialize_declarative_writes

    if if_exists is not IfExists.error:
        await serialize_declarative_writes(db)
    existing = await get_user_by_email(db, email=data.email)
    if existing is None:
        superuser = data.model_copy(update={"is_superuser": True, "is_active": True})
        return await create_user(db, data=superuser, actor=actor), Outcome.created
    if if_exists is IfExists.error:
        raise _exists(data.email)
    if if_exists is IfExists.skip:
        return existing, Outcome.unchanged
    password = data.password.get_secret_value()
    _check_policy(password, existing.email)
    # The same password again (another replica just set it) is no change: keep the hash.
    # Exactly the same: a bcrypt hash of the first 72 bytes is not (is_same_password).
    same_password = is_same_password(password, existing.hashed_password)
    changes = _apply(
        existing,
        is_superuser=True,
        is_active=True,
        hashed_password=existing.hashed_password if same_password else hash_password(password),
        full_name=data.full_name or existing.full_name,
    )
    if not changes:
        return existing, Outcome.unchanged
    await _save(db, existing, actor=actor, action="user.update", details=changes)
    return existing, Outcome.updated


def _apply(user: User, **values: Any) -> dict[str, Any]:
    """Set `values` on `user`; return what changed (the password only as a flag)."""
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if getattr(user, name) != value:
            setattr(user, name, value)
            changes["password_changed" if name == "hashed_password" else name] = (
                True if name == "hashed_password" else value
            )
    return changes


# Changes that end every API token issued before them (a new security stamp).
_ENDS_TOKENS = {"password_changed", "is_active", "is_superuser"}


async def _save(
    db: AsyncSession, user: User, *, actor: str, action: str, details: dict[str, Any]
) -> None:
    if details:
        user.updated_at = utcnow()
    if _ENDS_TOKENS & details.keys():
        user.security_stamp = new_security_stamp()
    db.add(user)
    await db.flush()
    await audit.record(db, actor=actor, action=action, target=user.email, details=details)


async def _lock_active_superusers(db: AsyncSession) -> list[User]:
    """The active superusers, row-locked on PostgreSQL so two concurrent demotions of
    different superusers cannot both see "another one remains"."""
    query = select(User).where(col(User.is_superuser).is_(True), col(User.is_active).is_(True))
    return list((await db.exec(query.with_for_update())).all())


async def _refuse_if_last_superuser(db: AsyncSession, user: User, *, doing: str) -> None:
    if not (user.is_superuser and user.is_active):
        return
    others = [u for u in await _lock_active_superusers(db) if u.id != user.id]
    if not others:
        raise AppException(
            409,
            f"refusing to {doing} {user.email}: it is the last active superuser",
            ErrorCode.LAST_SUPERUSER,
        )


async def set_password(db: AsyncSession, *, email: str, password: str, actor: str) -> User:
    user = await get_user(db, email=email)
    _check_policy(password, user.email)
    user.hashed_password = hash_password(password)
    await _save(
        db, user, actor=actor, action="user.set_password", details={"password_changed": True}
    )
    return user


async def _set_flag(
    db: AsyncSession, *, email: str, flag: str, value: bool, actor: str, action: str
) -> User:
    """Set `is_active` or `is_superuser`; turning either off keeps one active superuser."""
    user = await get_user(db, email=email)
    if not value:
        await _refuse_if_last_superuser(db, user, doing=action.removeprefix("user."))
    await _save(db, user, actor=actor, action=action, details=_apply(user, **{flag: value}))
    return user


async def set_active(db: AsyncSession, *, email: str, active: bool, actor: str) -> User:
    action = "user.activate" if active else "user.deactivate"
    return await _set_flag(
        db, email=email, flag="is_active", value=active, actor=actor, action=action
    )


async def set_superuser(db: AsyncSession, *, email: str, superuser: bool, actor: str) -> User:
    action = "user.promote" if superuser else "user.demote"
    return await _set_flag(
        db, email=email, flag="is_superuser", value=superuser, actor=actor, action=action
    )


async def delete_user(db: AsyncSession, *, email: str, actor: str) -> User:
    user = await get_user(db, email=email)
    await _refuse_if_last_superuser(db, user, doing="delete")
    await db.delete(user)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="user.delete",
        target=user.email,
        details={"id": user.id, "was_superuser": user.is_superuser},
    )
    return user


def _filtered(query: Any, *, superusers_only: bool, active: bool | None, search: str | None) -> Any:
    if superusers_only:
        query = query.where(col(User.is_superuser).is_(True))
    if active is not None:
        query = query.where(col(User.is_active).is_(active))
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(
            or_(col(User.email).like(pattern), func.lower(col(User.full_name)).like(pattern))
        )
    return query


async def list_users(
    db: AsyncSession,
    *,
    superusers_only: bool = False,
    active: bool | None = None,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    after_id: int | None = None,
) -> list[User]:
    """Users oldest first (by id): at most `limit`, skipping `offset`, or only ids > `after_id`
    (keyset paging: what `users list --all` walks the table with)."""
    query = _filtered(
        select(User), superusers_only=superusers_only, active=active, search=search
    ).order_by(col(User.id))
    if after_id is not None:
        query = query.where(col(User.id) > after_id)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list((await db.exec(query.options(selectinload(User.roles)))).all())


async def count_users(
    db: AsyncSession,
    *,
    superusers_only: bool = False,
    active: bool | None = None,
    search: str | None = None,
) -> int:
    """How many users list_users would return without a limit."""
    query = select(func.count()).select_from(User)
    query = _filtered(query, superusers_only=superusers_only, active=active, search=search)
    return (await db.exec(query)).one()


async def end_sessions(db: AsyncSession, *, email: str, actor: str) -> User:
    """End every API token of the user (a new security stamp); audited as user.logout_everywhere."""
    user = await get_user(db, email=email)
    user.security_stamp = new_security_stamp()
    await _save(
        db, user, actor=actor, action="user.logout_everywhere", details={"tokens_revoked": True}
    )
    return user


async def count_superusers(db: AsyncSession, *, active_only: bool = True) -> int:
    query = select(func.count()).select_from(User).where(col(User.is_superuser).is_(True))
    if active_only:
        query = query.where(col(User.is_active).is_(True))
    return (await db.exec(query)).one()
