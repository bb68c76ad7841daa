"""The one exception services raise for expected failures.

`status` is the HTTP status the API answers with; the CLI maps the same status to its exit code.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every error code a response or a --json document can carry (README lists them)."""

    USER_EXISTS = "USER_EXISTS"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    LAST_SUPERUSER = "LAST_SUPERUSER"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_INPUT = "INVALID_INPUT"
    CONFLICT = "CONFLICT"
    NOT_FOUND = "NOT_FOUND"
    DB_UNAVAILABLE = "DB_UNAVAILABLE"
    DB_TIMEOUT = "DB_TIMEOUT"
    NOT_READY = "NOT_READY"
    REFUSED = "REFUSED"
    INTERRUPTED = "INTERRUPTED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    USAGE_ERROR = "USAGE_ERROR"  # the CLI only: unknown option or command, bad value (exit 2)
    # roles and permissions
    ROLE_NOT_FOUND = "ROLE_NOT_FOUND"
    ROLE_EXISTS = "ROLE_EXISTS"
    ROLE_IN_USE = "ROLE_IN_USE"
    INVALID_ROLE_NAME = "INVALID_ROLE_NAME"
    INVALID_PERMISSION = "INVALID_PERMISSION"
    INVALID_ROLES_FILE = "INVALID_ROLES_FILE"
    # seeds
    INVALID_SEED = "INVALID_SEED"
    SEED_NOT_FOUND = "SEED_NOT_FOUND"
    # migrations and bootstrap
    BAD_REVISION = "BAD_REVISION"
    MIGRATION_LOCKED = "MIGRATION_LOCKED"
    INIT_LOCKED = "INIT_LOCKED"
    PENDING_MIGRATIONS = "PENDING_MIGRATIONS"
    SCHEMA_DRIFT = "SCHEMA_DRIFT"
    REVISION_EDITED = "REVISION_EDITED"  # an applied revision file changed since it was applied
    REVIEW_FINDINGS = "REVIEW_FINDINGS"
    NOT_AT_HEAD = "NOT_AT_HEAD"
    BACKFILL_PENDING = "BACKFILL_PENDING"  # a revision requires a backfill not yet complete
    MIGRATION_FAILED = "MIGRATION_FAILED"  # a revision raised while it ran (exit 8)
    BACKFILL_FAILED = "BACKFILL_FAILED"  # a backfill's own SQL or function raised (exit 8)
    FOREIGN_KEY_VIOLATION = "FOREIGN_KEY_VIOLATION"  # a SQLite migration left orphans (exit 8)
    OFFLINE_READ = "OFFLINE_READ"  # --sql on a revision that reads the database (exit 5)
    REVISION_BROKEN = "REVISION_BROKEN"  # `make` wrote a file that does not import (exit 5)
    # the API's authentication
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    CREDENTIALS_CHANGED = "CREDENTIALS_CHANGED"  # login raced a password change/delete (401)
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    INACTIVE_USER = "INACTIVE_USER"
    NOT_ALLOWED = "NOT_ALLOWED"  # HTTP method not allowed
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"  # login throttled (429, Retry-After)
    # PostgreSQL rolled the request back because another transaction won (SQLSTATE class 40):
    # 503, Retry-After. The CLI says CONFLICT (exit 4) for the same rollback.
    CONCURRENT_UPDATE = "CONCURRENT_UPDATE"


class AppException(Exception):
    def __init__(self, status: int, message: str, error_code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = str(error_code)

    def __repr__(self) -> str:
        return f"AppException({self.status}, {self.message!r}, {self.error_code!r})"
