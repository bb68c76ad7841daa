from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, false, true
from sqlmodel import Field, Relationship, SQLModel

import db.metadata  # noqa: F401  (naming convention before any table is defined)
from app.models._columns import timestamp_field
from app.models.role import UserRole

if TYPE_CHECKING:
    from app.models.role import Role


class User(SQLModel, table=True):
    __tablename__ = "users"
    # Emails are stored lower-cased and the database refuses anything else, so the unique
    # constraint is case-insensitive on every backend without an expression index.
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    full_name: str | None = Field(default=None, max_length=255)
    hashed_password: str = Field(max_length=255)
    is_active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    is_superuser: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()

    roles: list["Role"] = Relationship(back_populates="users", link_model=UserRole)
