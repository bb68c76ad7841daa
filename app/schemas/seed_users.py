"""One entry under `users:` in a seed file, checked as the `users` commands check it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from app.schemas.user import NormalizedEmail

PASSWORD_SOURCES = ("password_env", "password_file", "password_hash", "password")


class UserSeed(BaseModel):
    """One entry under `users:` in a seed file."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: NormalizedEmail
    full_name: str | None = Field(default=None, max_length=255)
    is_active: bool = True
    is_superuser: bool = False
    roles: list[str] | None = None
    password_env: str | None = Field(default=None, min_length=1)
    password_file: str | None = Field(default=None, min_length=1)
    password_hash: SecretStr | None = None
    password: SecretStr | None = None

    @model_validator(mode="after")
    def _one_password_source(self) -> UserSeed:
        given = [name for name in PASSWORD_SOURCES if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"use one password source, not {' and '.join(given)}")
        return self
