from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.errors import AppException, ErrorCode
from app.models import User
from app.schemas.user import UserCreate
from app.security import check_password_policy, hash_password
from app.services import audit


async def get_user_by_email(db: AsyncSession, *, email: str) -> User | None:
    return (await db.exec(select(User).where(User.email == email.strip().lower()))).first()


async def create_user(db: AsyncSession, *, data: UserCreate, actor: str) -> User:
    """Create a user after applying the password policy. An existing email is a 409."""
    password = data.password.get_secret_value()
    check_password_policy(
        password, min_length=get_settings().security.password_min_length, email=data.email
    )
    if await get_user_by_email(db, email=data.email) is not None:
        raise AppException(409, f"user {data.email} already exists", ErrorCode.USER_EXISTS)
    user = User(
        email=data.email,
        full_name=data.full_name,
        hashed_password=hash_password(password),
        is_superuser=data.is_superuser,
        is_active=data.is_active,
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:
        # Another transaction inserted the same email between our check and our insert.
        raise AppException(409, f"user {data.email} already exists", ErrorCode.USER_EXISTS) from exc
    await audit.record(
        db,
        actor=actor,
        action="user.create",
        target=user.email,
        details={"is_superuser": user.is_superuser, "is_active": user.is_active},
    )
    return user


async def list_users(
    db: AsyncSession,
    *,
    superusers_only: bool = False,
    active: bool | None = None,
    search: str | None = None,
    limit: int | None = None,
) -> list[User]:
    query = select(User).order_by(col(User.id))
    if superusers_only:
        query = query.where(col(User.is_superuser).is_(True))
    if active is not None:
        query = query.where(col(User.is_active).is_(active))
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(
            or_(col(User.email).like(pattern), func.lower(col(User.full_name)).like(pattern))
        )
    if limit is not None:
        query = query.limit(limit)
    return list((await db.exec(query)).all())


async def count_superusers(db: AsyncSession, *, active_only: bool = True) -> int:
    query = select(func.count()).select_from(User).where(col(User.is_superuser).is_(True))
    if active_only:
        query = query.where(col(User.is_active).is_(True))
    return (await db.exec(query)).one()
