from datetime import datetime

from sqlalchemy import Text
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
    # JSON (app/services/seed_fingerprint.py): how the run left the tables this file writes and
    # references, so an unchanged rerun is recognised without reading the file's rows. None
    # when that run cannot vouch for it (users:/roles: sections, modules, concurrent edits).
    fingerprint: str | None = Field(default=None, sa_type=Text, nullable=True)
