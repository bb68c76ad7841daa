from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import AdminUser, CurrentUser, SessionDep
from app.schemas.common import ApiResponse
from app.schemas.user import UserPage, UserRead
from app.services import users

router = APIRouter(tags=["users"])

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@router.get("/users/me", response_model=ApiResponse[UserRead])
async def read_me(user: CurrentUser) -> ApiResponse[UserRead]:
    return ApiResponse[UserRead].ok(UserRead.model_validate(user))


@router.get("/admin/users", response_model=ApiResponse[UserPage])
async def list_users(
    _: AdminUser,
    db: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> ApiResponse[UserPage]:
    """One page of accounts, oldest first (superusers only): `limit` (1-500, default 50) from
    `offset`, with `total` the number of accounts."""
    found = await users.list_users(db, limit=limit, offset=offset)
    page = UserPage(
        items=[UserRead.model_validate(u) for u in found],
        total=await users.count_users(db),
        limit=limit,
        offset=offset,
    )
    return ApiResponse[UserPage].ok(page)
