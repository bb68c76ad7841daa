"""Database settings: where the database is and how long to wait for it."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./app.db"
# Seconds. A management command's statement that runs five minutes is stalled, or belongs in a
# migration; a migration (an index build on a big table) gets an hour.
DEFAULT_COMMAND_TIMEOUT = 300.0
DEFAULT_MIGRATION_COMMAND_TIMEOUT = 3600.0

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
    """Return `url` with its scheme mapped to the async driver (postgresql:// -> +asyncpg),
    after checking it: ValueError naming what is wrong (a bad port, an unsupported parameter,
    a SQLite URL with two slashes); the message never holds the URL's password."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        raise ValueError("is not a URL (expected e.g. postgresql://user@host/db)")
    driver = _SCHEME_ALIASES.get(scheme.lower())
    if driver is None:
        raise ValueError(
            f"unsupported scheme {scheme!r} (use postgresql:// or sqlite+aiosqlite://)"
        )
    normalized = f"{driver}://{rest}"
    _check(normalized)
    return normalized


def _port_problem(url: str) -> str:
    """Why the port of `url` is not a number, e.g. "the port is empty"; the libpq form of
    several hosts (h1:5432,h2:5432) gets the form asyncpg takes."""
    authority = url.partition("://")[2].split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    port = authority.rpartition("]")[2].rpartition(":")[2] if ":" in authority else ""
    if "," in authority:
        return (
            "several hosts in the host part are not supported: write them as "
            "?host=h1:5432&host=h2:5432"
        )
    if not port:
        return "the port is empty (leave out the ':' for the default 5432)"
    from db.url import short

    return f"the port {short(port)} is not a number"


def _check(url: str) -> None:
    from sqlalchemy.engine import make_url

    from db.url import check_postgres_query

    try:
        parsed = make_url(url)
    except ValueError:
        # SQLAlchemy's only ValueError here: int() of the port.
        raise ValueError(_port_problem(url)) from None
    except Exception:
        raise ValueError("is not a URL SQLAlchemy can read") from None
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ValueError(f"port {parsed.port} is out of range (1-65535)")
    if parsed.get_backend_name() == "sqlite":
        if parsed.host:
            raise ValueError(
                "a SQLite URL has no host: write sqlite+aiosqlite:///app.db (three slashes) "
                "for a relative path, sqlite+aiosqlite:////srv/app.db (four) for an absolute one"
            )
        return
    check_postgres_query(dict(parsed.query))


# PostgreSQL takes timeouts as a 32-bit count of milliseconds (statement_timeout,
# lock_timeout: max 2147483647 ms), as does SQLite's busy_timeout: the longest any of ours
# may be, in seconds.
MAX_SECONDS = 2_147_483.647


def Seconds(default: float | None, *, ge: float | None = None) -> Any:
    """A duration setting in seconds: finite, above 0 (or >= `ge`), at most MAX_SECONDS."""
    if ge is not None:
        return Field(default=default, ge=ge, le=MAX_SECONDS, allow_inf_nan=False)
    return Field(default=default, gt=0, le=MAX_SECONDS, allow_inf_nan=False)


def milliseconds(seconds: float) -> int:
    """Whole milliseconds for PostgreSQL / SQLite, rounded up: 0.0004 s is 1 ms, never 0
    (which both read as "no timeout"). 0 stays 0 (SQLite busy_timeout: do not wait); a longer
    value than either takes (a --lock-timeout of 1e308, inf) is their maximum."""
    if seconds >= MAX_SECONDS:  # e.g. --lock-timeout 1e308: the longest wait there is
        return 2_147_483_647
    return math.ceil(seconds * 1000)


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # Used by migrations instead of DATABASE_URL when set (a direct connection past PgBouncer).
    db_migration_url: str | None = None
    db_connect_timeout: float = Seconds(5.0)
    db_statement_timeout: float | None = Seconds(None)
    db_lock_timeout: float | None = Seconds(None)
    # Client-side deadline per statement (asyncpg's command_timeout): a server or network
    # that stops answering is exit 6 after this long, where DB_STATEMENT_TIMEOUT cannot help
    # (the server never hears back). MIGRATION_COMMAND_TIMEOUT is the migrations' own.
    db_command_timeout: float = Seconds(DEFAULT_COMMAND_TIMEOUT)
    migration_command_timeout: float = Seconds(DEFAULT_MIGRATION_COMMAND_TIMEOUT)
    db_pgbouncer: bool = False
    # 0: fail at once when the SQLite file is locked.
    db_sqlite_busy_timeout: float = Seconds(30.0, ge=0)
    # PostgreSQL lock_timeout / statement_timeout for the migration connection, set only
    # after the migration lock is held (waiting for the lock is `--lock-timeout`).
    migration_lock_timeout: float | None = Seconds(None)
    migration_statement_timeout: float | None = Seconds(None)
    # False for an adopted Alembic history whose revisions create unnamed constraints and
    # later refer to them by the database's default names (docs/migrations.md).
    migration_naming_convention: bool = True

    @field_validator("database_url", "db_migration_url")
    @classmethod
    def _normalize_url(cls, value: str | None) -> str | None:
        return None if value is None else normalize_database_url(value)
