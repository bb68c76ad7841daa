import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, false, true
from sqlmodel import Field, Relationship, SQLModel

import db.metadata  # noqa: F401  (naming convention before any table is defined)
from app.models._columns import timestamp_field
from app.models.role import UserRole

if TYPE_CHECKING:
    from app.models.role import Role


def new_security_stamp() -> str:
    """A fresh random security stamp (32 hex characters, 128 bits): never repeats."""
    return secrets.token_hex(16)


class User(SQLModel, table=True):
    __tablename__ = "users"
    # Emails are stored lower-cased and the database refuses anything else, so the unique
    # constraint is case-insensitive on every backend without an expression index.
    # sqlite_autoincrement: SQLite never hands a deleted user's id out again (PostgreSQL's
    # sequence never does); tokens are bound to the security stamp as well.
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    full_name: str | None = Field(default=None, max_length=255)
    hashed_password: str = Field(max_length=255)
    is_active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    is_superuser: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    # Copied into every access token and compared on each request: replacing it ends every
    # token issued before (password change, deactivation, demotion, logout everywhere). A
    # new row gets a new stamp (Core inserts too), so a token never carries over to a reused
    # id. NULL (rows written by COPY or raw SQL) accepts no token until the next login.
    security_stamp: str | None = Field(
        default_factory=new_security_stamp,
        max_length=64,
        sa_column_kwargs={"default": new_security_stamp},
    )

    roles: list["Role"] = Relationship(back_populates="users", link_model=UserRole)
