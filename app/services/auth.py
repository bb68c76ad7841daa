"""Login for the API: check a password, rehash old hashes, issue and read JWT access tokens.

A token names its user by id (`sub`) and carries the user's security stamp (`stamp`); each
request reloads the user and compares the stamp, so replacing the stamp (password change,
deactivation, demotion, role change, logout everywhere) ends every token issued before, and a
token never carries over to another account that later gets the same id.
"""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt
from sqlalchemy import update
from sqlalchemy.orm import selectinload
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth_config import AuthSettings
from app.errors import AppException, ErrorCode
from app.models import User
from app.models.user import new_security_stamp
from app.security import hash_password, hash_password_async, needs_rehash, verify_password_async
from app.services import audit
from app.services.login_throttle import LoginThrottle

# users.id is a 32-bit INTEGER on PostgreSQL; anything outside is no user, not a database error.
MAX_USER_ID = 2**31 - 1
_ASCII_ID = re.compile(r"[1-9][0-9]{0,9}")
_STAMP = re.compile(r"[0-9a-f]{32}")


def unauthorized(message: str, error_code: str = ErrorCode.NOT_AUTHENTICATED) -> AppException:
    return AppException(401, message, error_code)


class LoginThrottled(AppException):
    """429: too many wrong passwords for this account or from this address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            f"too many failed logins; try again in {retry_after} seconds",
            ErrorCode.TOO_MANY_ATTEMPTS,
        )
        self.retry_after = retry_after


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash to verify against when the email is unknown, so both failures cost the same."""
    return hash_password("not-a-real-password-for-timing")


def _invalid_credentials() -> AppException:
    return unauthorized("incorrect email or password", ErrorCode.INVALID_CREDENTIALS)


async def authenticate(
    db: AsyncSession, *, email: str, password: str, workers: int | None = None
) -> User:
    """The active user with this email and password; 401 otherwise (one message for both).

    Known and unknown emails do the same database work (one SELECT of the users row) and one
    password verification, in the hashing thread pool. A correct password whose hash uses an
    old scheme (bcrypt) is rehashed with the current one and audited; a user with no security
    stamp gets one. The login ends with one conditional write (SET id = id when nothing
    changes); those writes are conditional on the row being as it was read (same hash,
    same stamp): if `users set-password`, a stamp change or a delete landed while the password
    was being checked, nothing is written and the login is a 401 (CREDENTIALS_CHANGED), so
    an old password never comes back and no token is issued for stale credentials.
    """
    address = email.strip().lower()
    user = (await db.exec(select(User).where(User.email == address))).first()
    hashed = user.hashed_password if user is not None else dummy_hash()
    read_stamp = user.security_stamp if user is not None else None
    active = user is not None and user.is_active
    user_id = user.id if user is not None else None
    # End the read before the slow check: no snapshot or SQLite read lock is held while the
    # password is verified, so the CLI can write meanwhile (the conditional write sees it).
    await db.rollback()
    matches = await verify_password_async(password, hashed, workers=workers)
    if user is None or not matches:
        raise _invalid_credentials()
    if not active:
        raise unauthorized("inactive user", ErrorCode.INACTIVE_USER)
    changes: dict[str, str] = {}
    if read_stamp is None:
        changes["security_stamp"] = new_security_stamp()
    scheme = None
    if needs_rehash(hashed):
        scheme = hashed.split("$")[1] if "$" in hashed else "unknown"
        # Same stamp: the password did not change, so the user's other tokens stay valid.
        changes["hashed_password"] = await hash_password_async(password, workers=workers)
    # With nothing to write, the same statement sets nothing but still proves the row is
    # as read: a delete or password change during the check is a 401, not a token.
    await _write_if_unchanged(
        db, user, user_id=user_id, read_hash=hashed, read_stamp=read_stamp, changes=changes
    )
    if scheme is not None:
        await audit.record(
            db,
            actor=f"user:{user.email}",
            action="user.password_rehash",
            target=user.email,
            details={"from_scheme": scheme},
        )
    return user


async def _write_if_unchanged(
    db: AsyncSession,
    user: User,
    *,
    user_id: int | None,
    read_hash: str,
    read_stamp: str | None,
    changes: dict[str, str],
) -> None:
    """UPDATE users SET changes WHERE id, hash and stamp are still what this login read;
    401 CREDENTIALS_CHANGED when no row matched (changed or deleted meanwhile).

    On PostgreSQL (READ COMMITTED) the WHERE is re-checked against a concurrent commit, and the
    row stays locked until this transaction ends; on SQLite writers are serialised."""
    statement = (
        update(User)
        .where(
            User.id == user_id,
            User.hashed_password == read_hash,
            User.security_stamp.is_not_distinct_from(read_stamp),
        )
        .values(**(changes or {"id": user_id}))
        .execution_options(synchronize_session=False)
    )
    result = await db.exec(statement)
    if result.rowcount != 1:
        db.expunge(user)
        raise unauthorized(
            "the account changed during login; log in again", ErrorCode.CREDENTIALS_CHANGED
        )
    await db.refresh(user)  # the row as written (locked until commit on PostgreSQL)


async def login(
    db: AsyncSession,
    throttle: LoginThrottle,
    *,
    email: str,
    password: str,
    address: str,
    workers: int | None = None,
) -> User:
    """authenticate(), throttled per account and per client `address`.

    The attempt is reserved before its password is checked (LoginThrottle.reserve), so
    concurrent attempts count too; a locked account or address, or one whose limit is taken
    by attempts in flight, is LoginThrottled (429) before any password is checked. A wrong
    password counts against both; a lockout it starts is audited (`auth.lockout`, in the
    caller's transaction: commit it even though this raises).
    """
    account = email.strip().lower()
    reservation = throttle.reserve(account=account, address=address)
    if isinstance(reservation, int):
        raise LoginThrottled(reservation)
    try:
        user = await authenticate(db, email=account, password=password, workers=workers)
        reservation.succeeded()
    except AppException as exc:
        if exc.error_code == ErrorCode.INVALID_CREDENTIALS:
            for lockout in reservation.failed():
                await audit.record(
                    db,
                    actor=f"api:{address}",
                    action="auth.lockout",
                    target=lockout.key,
                    details={
                        "scope": lockout.scope,
                        "failures": lockout.failures,
                        "seconds": lockout.seconds,
                    },
                )
        raise
    finally:
        reservation.release()  # no-op after failed()/succeeded(); frees the slot otherwise
    return user


def create_access_token(settings: AuthSettings, *, user: User, now: datetime | None = None) -> str:
    """A signed JWT: `sub` (user id), `stamp` (security stamp), `iat`, `exp`, `type`."""
    if user.security_stamp is None:
        raise ValueError("a user without a security stamp cannot be given a token")
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "stamp": user.security_stamp,
        "iat": issued,
        "exp": issued + timedelta(minutes=settings.access_token_expire_minutes),
        "type": "access",
    }
    return jwt.encode(
        claims, settings.secret_key.get_secret_value(), algorithm=settings.jwt_algorithm
    )


def read_access_token(settings: AuthSettings, token: str) -> tuple[int, str]:
    """The user id and security stamp in a valid, unexpired access token; 401 for anything else.

    `sub` must be a decimal id in ASCII digits within the id column's range (40 digits or
    non-ASCII digits are a 401, never a database error) and `stamp` 32 lower-case hex digits.
    """
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["exp", "sub", "stamp"]},
        )
    except jwt.ExpiredSignatureError:
        raise unauthorized("token expired") from None
    except jwt.PyJWTError:
        raise unauthorized("invalid token") from None
    subject, stamp = claims.get("sub"), claims.get("stamp")
    if (
        claims.get("type") != "access"
        or not isinstance(subject, str)
        or not _ASCII_ID.fullmatch(subject)
        or int(subject) > MAX_USER_ID
        or not isinstance(stamp, str)
        or not _STAMP.fullmatch(stamp)
    ):
        raise unauthorized("invalid token")
    return int(subject), stamp


async def user_for_token(db: AsyncSession, settings: AuthSettings, token: str) -> User:
    """The user a token names, if the token is still theirs (same security stamp); else 401."""
    user_id, stamp = read_access_token(settings, token)
    query = select(User).where(User.id == user_id).options(selectinload(User.roles))
    user = (await db.exec(query)).first()
    if user is None or user.security_stamp is None:
        raise unauthorized("invalid token")
    if not hmac.compare_digest(user.security_stamp.encode(), stamp.encode()):
        raise unauthorized("token revoked")
    return user
