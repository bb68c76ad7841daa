from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class ApiResponse(BaseModel, Generic[T]):
    """The envelope every API response and every CLI `--json` document uses."""

    success: bool
    data: T | None = None
    message: str | None = None
    error_code: str | None = None

    @classmethod
    def ok(cls, data: T, message: str | None = None) -> ApiResponse[T]:
        return cls(success=True, data=data, message=message)

    @classmethod
    def fail(cls, message: str, error_code: str, data: T | None = None) -> ApiResponse[T]:
        return cls(success=False, data=data, message=message, error_code=error_code)
