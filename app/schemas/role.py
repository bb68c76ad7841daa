"""Role schemas shared by the API, the CLI's --json output and roles-as-code files."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class RoleRead(BaseModel):
    name: str
    description: str
    permissions: list[str]
    member_count: int
    created_at: datetime

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # SQLite hands timestamps back without a zone; they were written in UTC.
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class RoleChange(BaseModel):
    """The result of grant/revoke (values are emails) or permit/forbid (permissions)."""

    role: str
    action: Literal["grant", "revoke", "permit", "forbid"]
    changed: list[str]
    unchanged: list[str]


class RoleDeleted(BaseModel):
    name: str
    members_removed: int


class EffectivePermission(BaseModel):
    permission: str
    granted_by: list[str]  # role names, or "superuser"


class UserPermissions(BaseModel):
    email: str
    is_active: bool
    is_superuser: bool
    roles: list[str]
    permissions: list[EffectivePermission]


class RoleSpec(BaseModel):
    """One role in a roles file (`roles export` / `roles sync`)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = Field(default="", max_length=500)
    permissions: list[str] = Field(default_factory=list)


class RolesDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    roles: list[RoleSpec] = Field(default_factory=list)


class PlannedChange(BaseModel):
    """One line of a sync plan: + create, ~ change, - remove."""

    op: Literal["create", "change", "remove"]
    role: str
    description: str | None = None  # the new description, when it is set or changes
    add_permissions: list[str] = Field(default_factory=list)
    remove_permissions: list[str] = Field(default_factory=list)
    member_count: int = 0  # for "remove": users who lose the role

    @property
    def symbol(self) -> str:
        return {"create": "+", "change": "~", "remove": "-"}[self.op]


class SyncPlan(BaseModel):
    changes: list[PlannedChange]
    unmanaged: list[str]  # roles in the database but not in the file, kept (no --prune)
    dry_run: bool
    applied: bool
