"""Column helpers shared by the table models."""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def timestamp_field(**kwargs: object) -> datetime:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False, **kwargs)
