from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    field_validator,
)


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
    roles: list[str] = []
    created_at: datetime
    updated_at: datetime

    @field_validator("roles", mode="before")
    @classmethod
    def _role_names(cls, value: Any) -> list[str]:
        return sorted(getattr(role, "name", role) for role in value or [])

    @field_validator("created_at", "updated_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # SQLite hands timestamps back without a zone; they were written in UTC.
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class EmailInput(BaseModel):
    """An email given on its own (a command argument): validated and lower-cased."""

    model_config = ConfigDict(str_strip_whitespace=True)

    email: NormalizedEmail


def normalize_email(value: str) -> str:
    """Validate and lower-case an email address; raises pydantic.ValidationError naming `email`."""
    return EmailInput(email=value).email


class UserPage(BaseModel):
    """One page of users: `items` oldest first, `total` matching users, the page asked for."""

    items: list[UserRead]
    total: int
    limit: int
    offset: int
