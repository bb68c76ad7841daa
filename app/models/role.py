from datetime import datetime
from typing import TYPE_CHECKING, Optional

from sqlmodel import Field, Relationship, SQLModel

import db.metadata  # noqa: F401  (naming convention before any table is defined)
from app.models._columns import timestamp_field

if TYPE_CHECKING:
    from app.models.user import User


class UserRole(SQLModel, table=True):
    __tablename__ = "user_roles"

    user_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    role_id: int = Field(foreign_key="roles.id", primary_key=True, ondelete="CASCADE", index=True)


class Role(SQLModel, table=True):
    __tablename__ = "roles"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=63, unique=True)
    description: str = Field(default="", max_length=500)
    created_at: datetime = timestamp_field()

    permissions: list["RolePermission"] = Relationship(back_populates="role", cascade_delete=True)
    users: list["User"] = Relationship(back_populates="roles", link_model=UserRole)


class RolePermission(SQLModel, table=True):
    __tablename__ = "role_permissions"

    role_id: int = Field(foreign_key="roles.id", primary_key=True, ondelete="CASCADE")
    permission: str = Field(max_length=255, primary_key=True)

    role: Optional["Role"] = Relationship(back_populates="permissions")
