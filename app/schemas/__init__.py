"""Request and response schemas shared by the API and the CLI."""

from app.schemas.common import ApiResponse
from app.schemas.role import (
    RoleChange,
    RoleRead,
    RolesDocument,
    RoleSpec,
    SyncPlan,
    UserPermissions,
)
from app.schemas.user import UserCreate, UserRead

__all__ = [
    "ApiResponse",
    "RoleChange",
    "RoleRead",
    "RoleSpec",
    "RolesDocument",
    "SyncPlan",
    "UserCreate",
    "UserPermissions",
    "UserRead",
]
