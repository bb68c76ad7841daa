"""What `manage seed` reports (--json). The `users:` entries of a seed file are checked by
app/schemas/seed_users.py (apart, so a run without one does not import the email validator)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator


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
    # file -> why it cannot be read ("cannot read (a symbolic link to a missing file)")
    unreadable: dict[str, str] = {}


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
