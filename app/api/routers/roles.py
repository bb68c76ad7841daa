from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import SessionDep, require_permission
from app.models import User
from app.schemas.common import ApiResponse
from app.schemas.role import RoleRead
from app.services import roles

router = APIRouter(prefix="/roles", tags=["roles"])


@router.get("", response_model=ApiResponse[list[RoleRead]])
async def list_roles(
    _: Annotated[User, Depends(require_permission("roles:read"))], db: SessionDep
) -> ApiResponse[list[RoleRead]]:
    """Every role with its permissions and member count (needs `roles:read`)."""
    return ApiResponse[list[RoleRead]].ok(await roles.list_roles(db))
