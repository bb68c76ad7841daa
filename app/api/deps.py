"""Dependencies: a session per request and the auth chain.

get_current_user -> require_auth -> require_admin, plus require_permission("resource:action").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth_config import AuthSettings
from app.config import Settings
from app.errors import AppException, ErrorCode
from app.models import User
from app.services import auth, roles

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_auth(request: Request) -> AuthSettings:
    """The auth settings tokens are signed with (a per-process key in development; main.py)."""
    return request.app.state.auth


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request. An endpoint that changes data commits; anything else rolls back."""
    async with request.app.state.sessions() as session:
        try:
            yield session
        finally:
            await session.rollback()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_db)]
AuthDep = Annotated[AuthSettings, Depends(get_auth)]


async def get_current_user(
    db: SessionDep, auth_settings: AuthDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User:
    """The user the bearer token names (active or not); 401 without a valid token, or with a
    token issued before the user's security stamp last changed."""
    if not token:
        raise auth.unauthorized("not authenticated")
    return await auth.user_for_token(db, auth_settings, token)


async def require_auth(user: Annotated[User, Depends(get_current_user)]) -> User:
    """An authenticated, active user; a deactivated account is a 401."""
    if not user.is_active:
        raise auth.unauthorized("inactive user", ErrorCode.INACTIVE_USER)
    return user


CurrentUser = Annotated[User, Depends(require_auth)]


async def require_admin(user: CurrentUser) -> User:
    if not user.is_superuser:
        raise AppException(403, "administrators only", ErrorCode.REFUSED)
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def require_permission(permission: str) -> Callable[..., Coroutine[Any, Any, User]]:
    """A dependency that lets through users holding `permission` (superusers always)."""

    async def dependency(user: CurrentUser, db: SessionDep) -> User:
        if not await roles.user_has_permission(db, user=user, permission=permission):
            raise AppException(403, f"missing permission {permission}", "PERMISSION_DENIED")
        return user

    dependency.__name__ = f"require_permission_{permission.replace(':', '_').replace('*', 'all')}"
    return dependency
