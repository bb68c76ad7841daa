from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from app.api.deps import AuthDep, SessionDep
from app.errors import AppException
from app.services import auth

router = APIRouter(prefix="/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/token", response_model=Token)
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: SessionDep,
    auth_settings: AuthDep,
) -> Token:
    """OAuth2 password flow: form fields `username` (the email) and `password`.

    The body is the plain OAuth2 token response (not the ApiResponse envelope), so standard
    OAuth2 clients and the docs' Authorize button work. Errors use the envelope (401; 429 with
    Retry-After once too many wrong passwords were tried for the account or from the address).
    The client address is the connection's (behind a proxy, run uvicorn with
    --forwarded-allow-ips so it is the client's, not the proxy's).
    """
    state = request.app.state
    try:
        user = await auth.login(
            db,
            state.login_throttle,
            email=form.username,
            password=form.password,
            address=request.client.host if request.client else "unknown",
            workers=state.hash_workers,
        )
    except AppException:
        await db.commit()  # an audited lockout, if this failure started one
        raise
    await db.commit()  # a rehashed password hash, a first security stamp
    return Token(
        access_token=auth.create_access_token(auth_settings, user=user),
        expires_in=auth_settings.access_token_expire_minutes * 60,
    )
