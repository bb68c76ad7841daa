from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, SecretStr


def _lower(value: str) -> str:
    return value.lower()


# Emails compare case-insensitively: they are stored lower-cased (the table enforces it).
NormalizedEmail = Annotated[EmailStr, AfterValidator(_lower)]


class UserCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    email: NormalizedEmail
    password: SecretStr
    full_name: str | None = Field(default=None, max_length=255)
    is_superuser: bool = False
    is_active: bool = True


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    created_at: datetime
    updated_at: datetime


class EmailInput(BaseModel):
    """An email given on its own (a command argument): validated and lower-cased."""

    model_config = ConfigDict(str_strip_whitespace=True)

    email: NormalizedEmail


def normalize_email(value: str) -> str:
    """Validate and lower-case an email address; raises pydantic.ValidationError naming `email`."""
    return EmailInput(email=value).email
