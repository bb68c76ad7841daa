"""Seed schemas: the rows a seed file may hold, and what `manage seed` reports (--json)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

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


class ModelCounts(BaseModel):
    model: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class RowChange(BaseModel):
    """One row a run creates or updates: `+ User dev@example.com`."""

    op: Literal["create", "update"]
    model: str
    key: str
    fields: list[str] = Field(default_factory=list)  # for updates: which columns change


class SeedFileRef(BaseModel):
    seed_set: str
    file: str  # relative to the seeds directory
    checksum: str


class SeedRunResult(BaseModel):
    dry_run: bool
    files: list[SeedFileRef]
    models: list[ModelCounts]
    changes: list[RowChange]
    warnings: list[str] = Field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(m.created or m.updated for m in self.models)


class SeedFileStatus(BaseModel):
    seed_set: str
    file: str
    state: Literal["applied", "changed", "new", "missing"]
    checksum: str | None  # on disk; None when the file is gone
    applied_checksum: str | None
    applied_at: datetime | None

    @field_validator("applied_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # SQLite hands timestamps back without a zone; they were written in UTC.
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


class SeedSetListing(BaseModel):
    seed_set: str
    files: list[str]


class FakeRowsResult(BaseModel):
    model: str  # the model's class name
    table: str
    requested: int
    created: int
    skipped: int  # rows a unique constraint turned away (e.g. a rerun with the same --seed)
    seed: int
    seconds: float


class FakeUsersResult(BaseModel):
    requested: int
    created: int
    skipped: int  # emails that already existed
    role: str | None
    seed: int | None
    seconds: float
