"""Login for the API: check a password, rehash old hashes, issue and read JWT access tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt
from sqlalchemy.orm import selectinload
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth_config import AuthSettings
from app.errors import AppException, ErrorCode
from app.models import User
from app.security import hash_password, needs_rehash, verify_password
from app.services import audit


def unauthorized(message: str, error_code: str = ErrorCode.NOT_AUTHENTICATED) -> AppException:
    return AppException(401, message, error_code)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verifying against this when the email is unknown keeps both failures equally slow.
    return hash_password("not-a-real-password-for-timing")


async def authenticate(db: AsyncSession, *, email: str, password: str) -> User:
    """The active user with this email and password; 401 otherwise (one message for both).

    A correct password whose hash uses an old scheme (bcrypt) is rehashed with the current one.
    """
    address = email.strip().lower()
    query = select(User).where(User.email == address).options(selectinload(User.roles))
    user = (await db.exec(query)).first()
    if user is None:
        verify_password(password, _dummy_hash())
        raise unauthorized("incorrect email or password", ErrorCode.INVALID_CREDENTIALS)
    if not verify_password(password, user.hashed_password):
        raise unauthorized("incorrect email or password", ErrorCode.INVALID_CREDENTIALS)
    if not user.is_active:
        raise unauthorized("inactive user", ErrorCode.INACTIVE_USER)
    if needs_rehash(user.hashed_password):
        scheme = user.hashed_password.split("$")[1] if "$" in user.hashed_password else "unknown"
        user.hashed_password = hash_password(password)
        db.add(user)
        await db.flush()
        await audit.record(
            db,
            actor=f"user:{user.email}",
            action="user.password_rehash",
            target=user.email,
            details={"from_scheme": scheme},
        )
    return user


def create_access_token(settings: AuthSettings, *, user: User, now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "iat": issued,
        "exp": issued + timedelta(minutes=settings.access_token_expire_minutes),
        "type": "access",
    }
    return jwt.encode(
        claims, settings.secret_key.get_secret_value(), algorithm=settings.jwt_algorithm
    )


def read_access_token(settings: AuthSettings, token: str) -> int:
    """The user id in a valid, unexpired access token; 401 for anything else."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise unauthorized("token expired") from None
    except jwt.PyJWTError:
        raise unauthorized("invalid token") from None
    if claims.get("type") != "access" or not str(claims["sub"]).isdigit():
        raise unauthorized("invalid token")
    return int(claims["sub"])


async def user_for_token(db: AsyncSession, settings: AuthSettings, token: str) -> User:
    user_id = read_access_token(settings, token)
    query = select(User).where(User.id == user_id).options(selectinload(User.roles))
    user = (await db.exec(query)).first()
    if user is None:
        raise unauthorized("invalid token")
    return user
