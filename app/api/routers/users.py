from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import AdminUser, CurrentUser, SessionDep
from app.schemas.common import ApiResponse
from app.schemas.user import UserRead
from app.services import users

router = APIRouter(tags=["users"])


@router.get("/users/me", response_model=ApiResponse[UserRead])
async def read_me(user: CurrentUser) -> ApiResponse[UserRead]:
    return ApiResponse[UserRead].ok(UserRead.model_validate(user))


@router.get("/admin/users", response_model=ApiResponse[list[UserRead]])
async def list_users(_: AdminUser, db: SessionDep) -> ApiResponse[list[UserRead]]:
    """Every account, oldest first (superusers only)."""
    found = await users.list_users(db)
    return ApiResponse[list[UserRead]].ok([UserRead.model_validate(u) for u in found])
