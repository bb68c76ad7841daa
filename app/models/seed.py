from datetime import datetime

from sqlmodel import Field, SQLModel

import db.metadata  # noqa: F401  (naming convention before any table is defined)
from app.models._columns import timestamp_field


class SeedHistory(SQLModel, table=True):
    """One row per seed file applied by `manage seed run` (dry runs record nothing)."""

    __tablename__ = "seed_history"

    id: int | None = Field(default=None, primary_key=True)
    seed_set: str = Field(max_length=63, index=True)
    file: str = Field(max_length=255)  # relative to the seeds directory: "base/roles.yaml"
    checksum: str = Field(max_length=64)  # sha256 hex of the file's bytes
    applied_at: datetime = timestamp_field(index=True)
    actor: str = Field(max_length=255)
