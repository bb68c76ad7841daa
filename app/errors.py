"""The one exception services raise for expected failures.

`status` is the HTTP status the API answers with; the CLI maps the same status to its exit code.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    USER_EXISTS = "USER_EXISTS"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    LAST_SUPERUSER = "LAST_SUPERUSER"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_INPUT = "INVALID_INPUT"
    CONFLICT = "CONFLICT"
    NOT_FOUND = "NOT_FOUND"
    DB_UNAVAILABLE = "DB_UNAVAILABLE"
    DB_TIMEOUT = "DB_TIMEOUT"
    MIGRATION_ERROR = "MIGRATION_ERROR"
    NOT_READY = "NOT_READY"
    REFUSED = "REFUSED"
    INTERRUPTED = "INTERRUPTED"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class AppException(Exception):
    def __init__(self, status: int, message: str, error_code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = str(error_code)

    def __repr__(self) -> str:
        return f"AppException({self.status}, {self.message!r}, {self.error_code!r})"
