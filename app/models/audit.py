from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

import db.metadata  # noqa: F401  (naming convention before any table is defined)
from app.models._columns import timestamp_field


class AuditLog(SQLModel, table=True):
    """One row per mutation, written in the same transaction as the change it records."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = timestamp_field(index=True)
    actor: str = Field(max_length=255)
    action: str = Field(max_length=64, index=True)
    target: str = Field(max_length=320, index=True)
    details: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    )
