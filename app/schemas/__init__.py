"""Request and response schemas shared by the API and the CLI."""

from app.schemas.common import ApiResponse
from app.schemas.user import UserCreate, UserRead

__all__ = ["ApiResponse", "UserCreate", "UserRead"]
