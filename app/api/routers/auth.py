from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from app.api.deps import SessionDep, SettingsDep
from app.services import auth

router = APIRouter(prefix="/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/token", response_model=Token)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], db: SessionDep, settings: SettingsDep
) -> Token:
    """OAuth2 password flow: form fields `username` (the email) and `password`.

    The body is the plain OAuth2 token response (not the ApiResponse envelope), so standard
    OAuth2 clients and the docs' Authorize button work. Errors use the envelope (401).
    """
    user = await auth.authenticate(db, email=form.username, password=form.password)
    await db.commit()  # a rehashed password hash
    return Token(
        access_token=auth.create_access_token(settings.auth, user=user),
        expires_in=settings.auth.access_token_expire_minutes * 60,
    )
