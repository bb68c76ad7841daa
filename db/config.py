"""Database settings: where the database is and how long to wait for it."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./app.db"

# Plain scheme -> the async driver this project ships. Anything else is refused up front
# rather than failing later with a driver ImportError.
_SCHEME_ALIASES = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def normalize_database_url(url: str) -> str:
    """Return `url` with its scheme mapped to the async driver (postgresql:// -> +asyncpg)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        raise ValueError("is not a URL (expected e.g. postgresql://user@host/db)")
    driver = _SCHEME_ALIASES.get(scheme.lower())
    if driver is None:
        raise ValueError(
            f"unsupported scheme {scheme!r} (use postgresql:// or sqlite+aiosqlite://)"
        )
    return f"{driver}://{rest}"


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # Used by migrations instead of DATABASE_URL when set (a direct connection past PgBouncer).
    db_migration_url: str | None = None
    db_connect_timeout: float = Field(default=5.0, gt=0)
    db_statement_timeout: float | None = Field(default=None, gt=0)
    db_lock_timeout: float | None = Field(default=None, gt=0)
    db_pgbouncer: bool = False
    db_sqlite_busy_timeout: float = Field(default=30.0, ge=0)
    # PostgreSQL lock_timeout / statement_timeout for the migration connection, set only
    # after the migration lock is held (waiting for the lock is `--lock-timeout`).
    migration_lock_timeout: float | None = Field(default=None, gt=0)
    migration_statement_timeout: float | None = Field(default=None, gt=0)
    # False for an adopted Alembic history whose revisions create unnamed constraints and
    # later refer to them by the database's default names (docs/migrations.md).
    migration_naming_convention: bool = True

    @field_validator("database_url", "db_migration_url")
    @classmethod
    def _normalize_url(cls, value: str | None) -> str | None:
        return None if value is None else normalize_database_url(value)
