"""Engine and session factories for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from db.config import DatabaseSettings, milliseconds
from db.errors import DatabaseUnavailable
from db.stalls import (
    keepalive_connection_class,
    name_connect_timeout,
    name_timeouts,
    track_checkouts,
)
from db.url import connect_args as url_connect_args
from db.url import mask

APPLICATION_NAME = "manage"


def _timeouts(settings: DatabaseSettings) -> dict[str, str]:
    """PostgreSQL timeout settings in milliseconds, for the ones configured."""
    values = {
        "statement_timeout": settings.db_statement_timeout,
        "lock_timeout": settings.db_lock_timeout,
    }
    return {name: str(milliseconds(seconds)) for name, seconds in values.items() if seconds}


def _postgres_connect_args(
    settings: DatabaseSettings, query: dict[str, Any], *, command_timeout: float
) -> dict[str, Any]:
    server_settings = {"application_name": APPLICATION_NAME}
    if not settings.db_pgbouncer:
        # PgBouncer refuses unknown startup parameters; in that mode _set_local_timeouts
        # applies them per transaction instead.
        server_settings.update(_timeouts(settings))
    args: dict[str, Any] = {
        "timeout": settings.db_connect_timeout,
        "command_timeout": command_timeout,
        "server_settings": server_settings,
        "connection_class": keepalive_connection_class(),
    }
    translated, _ = url_connect_args(query)
    server_settings.update(translated.pop("server_settings", {}))
    args.update(translated)  # dsn (SSL files, sslmode), timeout (connect_timeout)
    if settings.db_pgbouncer:
        # Transaction pooling hands each transaction to any server connection: a statement
        # prepared in one may be missing (or taken by another client) in the next. No caches,
        # and unique names for the statements SQLAlchemy still prepares (SQLAlchemy's
        # documented recipe for PgBouncer).
        args["statement_cache_size"] = 0
        args["prepared_statement_cache_size"] = 0
        args["prepared_statement_name_func"] = lambda: f"__asyncpg_{uuid.uuid4()}__"
    return args


def _set_local_timeouts(engine: AsyncEngine, timeouts: dict[str, str]) -> None:
    """Apply timeouts with SET LOCAL at each transaction start (PgBouncer mode): a session
    SET would leak to other clients sharing the server connection."""

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        for name, value in timeouts.items():
            connection.exec_driver_sql(f"SET LOCAL {name} = {int(value)}")


def _enable_sqlite_transactions(engine: AsyncEngine) -> None:
    """Foreign keys on, and real BEGIN/COMMIT so DDL and SAVEPOINTs are transactional.

    pysqlite's legacy mode starts transactions lazily and never around DDL; SQLAlchemy's
    documented fix is to take transaction control away from the driver.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes cannot upgrade its lock while
        # another writer holds one: it fails at once with "database is locked" instead of
        # waiting out the busy timeout. Sessions opened by the runner begin IMMEDIATE.
        mode = connection.info.get("sqlite_begin") or connection.get_execution_options().get(
            "sqlite_begin", ""
        )
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


def _require_sqlite_directory(database: str | None) -> None:
    """A SQLite file in a directory that does not exist: say so before connecting.

    The message names the directory (sqlite3 only says "unable to open database file"), and
    aiosqlite is spared a failed connect, after which it schedules a stop on a loop that
    asyncio.run may already have closed.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    directory = Path(database).expanduser().parent
    if not directory.is_dir():
        raise DatabaseUnavailable(
            f"database unavailable: the SQLite directory {directory} does not exist"
        )


def create_engine(
    settings: DatabaseSettings,
    *,
    url: str | None = None,
    pooled: bool = True,
    migrations: bool = False,
) -> AsyncEngine:
    """Build the engine for `url` (default: settings.database_url) with this project's options.

    `migrations=True`: statements get MIGRATION_COMMAND_TIMEOUT instead of DB_COMMAND_TIMEOUT
    as their client-side deadline.
    """
    parsed = make_url(url or settings.database_url)
    kwargs: dict[str, Any] = {}
    if migrations:
        command_timeout = settings.migration_command_timeout
        timeout_setting = "MIGRATION_COMMAND_TIMEOUT"
    else:
        command_timeout, timeout_setting = settings.db_command_timeout, "DB_COMMAND_TIMEOUT"
    connect_timeout, connect_setting = settings.db_connect_timeout, "DB_CONNECT_TIMEOUT"
    if parsed.get_backend_name() == "postgresql":
        query = dict(parsed.query)
        kwargs["connect_args"] = _postgres_connect_args(
            settings, query, command_timeout=command_timeout
        )
        if "timeout" in url_connect_args(query)[0]:  # the URL's connect_timeout replaces it
            connect_timeout = kwargs["connect_args"]["timeout"]
            connect_setting = "connect_timeout in DATABASE_URL"
        parsed = parsed.difference_update_query(url_connect_args(query)[1])
        if settings.db_pgbouncer:
            pooled = False
    else:
        kwargs["connect_args"] = {"timeout": settings.db_sqlite_busy_timeout}
    if not pooled:
        kwargs["poolclass"] = NullPool
    # hide_parameters: a --verbose traceback or a log line never shows bound values (hashes).
    engine = create_async_engine(parsed, hide_parameters=True, **kwargs)
    if engine.dialect.name == "sqlite":
        _enable_sqlite_transactions(engine)
        database = parsed.database

        # At connect time, not here: commands that never connect (`migrate sql`, migrations
        # through DB_MIGRATION_URL) must not fail on the main URL's directory.
        @event.listens_for(engine.sync_engine, "do_connect")
        def _check_directory(*_args: Any) -> None:
            _require_sqlite_directory(database)

    track_checkouts(engine)
    if engine.dialect.name == "postgresql":
        name_connect_timeout(engine, connect_setting)
        name_timeouts(
            engine,
            connect_timeout=connect_timeout,
            connect_setting=connect_setting,
            command_timeout=command_timeout,
            setting=timeout_setting,
        )
        if settings.db_pgbouncer and _timeouts(settings):
            _set_local_timeouts(engine, _timeouts(settings))
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: reading attributes after commit would otherwise lazy-load
    # outside the greenlet and raise MissingGreenlet.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def describe_url(url: str) -> str:
    """The URL with every password masked (userinfo, `password=`), for messages; never raises."""
    return mask(url)


async def ping(engine: AsyncEngine) -> None:
    """Connect and run SELECT 1: raises what connecting raises."""
    from sqlalchemy import text

    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
