"""Engine and session factories for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from db.config import DatabaseSettings, milliseconds
from db.errors import DatabaseUnavailable
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


# TCP keepalives on our socket. A peer that vanished (a dead network, a killed VM) is noticed
# after about IDLE + INTERVAL * COUNT = 60 s, even inside a long migration statement whose
# MIGRATION_COMMAND_TIMEOUT is an hour. asyncpg has no keepalive options: the socket is set by
# a Connection subclass (asyncpg's documented `connection_class` hook). The server's own
# tcp_keepalives_* are not sent as startup parameters: PgBouncer and other poolers refuse
# unknown ones (see DB_PGBOUNCER), and the server's defaults (the kernel's) stay in force.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 30, 10, 3


def set_keepalive(sock: Any) -> None:
    """Turn on TCP keepalives (and, on Linux, a bound on unacknowledged sends) for `sock`."""
    import socket

    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # a Unix socket: no network in between
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE),
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
        ("TCP_KEEPCNT", KEEPALIVE_COUNT),
        ("TCP_USER_TIMEOUT", (KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT) * 1000),
    ):
        option = getattr(socket, name, None)
        if option is not None:  # Linux has all four; macOS lacks some
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


@functools.cache
def keepalive_connection_class() -> type:
    import asyncpg

    class KeepaliveConnection(asyncpg.Connection):  # type: ignore[misc]
        """An asyncpg connection whose socket has TCP keepalives on."""

        def __init__(self, protocol: Any, transport: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(protocol, transport, *args, **kwargs)
            set_keepalive(transport.get_extra_info("socket"))

    return KeepaliveConnection


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
        mode = connection.info.get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


# The driver connections checked out right now, in every engine of this process. A
# cancelled await does not stop a statement running in aiosqlite's worker thread (a ROLLBACK
# would queue behind it for as long as it runs); sqlite3's interrupt() does, from any thread.
# An asyncpg connection that stalled outside SQLAlchemy (a raw COPY) is aborted from here.
_IN_USE: set[Any] = set()
_INTERRUPTS: set[Any] = set()  # references to the interrupt tasks until they ran


def _track_checkouts(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(_dbapi: Any, _record: Any, proxy: Any) -> None:
        _IN_USE.add(proxy.driver_connection)

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi: Any, record: Any) -> None:
        _IN_USE.discard(record.driver_connection)


def interrupt_sqlite_statements() -> None:
    """Stop every SQLite statement running in this process (the runner calls it on SIGINT,
    SIGTERM, SIGHUP). PostgreSQL needs nothing here: asyncpg sends the server a cancel
    request when the awaiting task is cancelled."""
    import asyncio

    import aiosqlite

    for connection in list(_IN_USE):
        if isinstance(connection, aiosqlite.Connection):
            # interrupt() calls sqlite3.Connection.interrupt() at once, off aiosqlite's queue.
            task = asyncio.ensure_future(connection.interrupt())
            _INTERRUPTS.add(task)
            task.add_done_callback(_INTERRUPTS.discard)


def abort_stalled_connections() -> None:
    """Close (without a word to the server) every asyncpg connection in use: after a stall
    nothing sent on them would be answered, and a ROLLBACK would only wait. The server ends
    the session, rolling it back, when it sees the socket closed."""
    import asyncpg

    for connection in list(_IN_USE):
        if isinstance(connection, asyncpg.Connection) and not connection.is_closed():
            connection.terminate()


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


# True while a client-side deadline (--wait, --lock-timeout) bounds the work: a statement it
# cuts off closes its connection at once. Otherwise (a signal) SQLAlchemy's graceful close
# runs, which gives asyncpg's cancel request time to reach the server and stop the statement.
_ABORT_ON_CANCEL: ContextVar[bool] = ContextVar("abort_on_cancel", default=False)


@contextlib.contextmanager
def deadline_bound() -> Iterator[None]:
    """Mark the awaits inside as bounded by a deadline (see _ABORT_ON_CANCEL)."""
    token = _ABORT_ON_CANCEL.set(True)
    try:
        yield
    finally:
        _ABORT_ON_CANCEL.reset(token)


def _name_connect_timeout(engine: AsyncEngine, setting: str) -> None:
    """A server that never answers the connection: DatabaseUnavailable naming the deadline.
    (SQLAlchemy passes a connect's TimeoutError through without its handle_error event.)"""
    where = mask(engine.url.render_as_string(hide_password=False))

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except TimeoutError:
            raise DatabaseUnavailable(
                f"database unavailable at {where}: connection timed out: no answer within "
                f"{cparams.get('timeout', 0):g}s ({setting})",
                code="DB_TIMEOUT",
            ) from None


def _name_timeouts(
    engine: AsyncEngine, *, connect_timeout: float, command_timeout: float, setting: str
) -> None:
    """A statement or connect that got no answer in time: DatabaseUnavailable naming which
    deadline passed, and the connection closed (after a stall its protocol state is unknown;
    a pooled copy must never be reused). asyncpg has already asked the server to cancel."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: Any) -> None:
        if isinstance(context.original_exception, asyncio.CancelledError):
            if _ABORT_ON_CANCEL.get() and context.connection is not None:
                context.is_disconnect = True
                context.connection.connection.driver_connection.terminate()
            return
        if not isinstance(context.original_exception, TimeoutError):
            return
        context.is_disconnect = True
        if context.connection is not None:
            # Close the socket now: SQLAlchemy's invalidation would first try a graceful
            # close through the stalled connection (for up to 2 s).
            context.connection.connection.driver_connection.terminate()
        if context.connection is None:  # while connecting
            raise DatabaseUnavailable(
                f"database unavailable: no answer within {connect_timeout:g}s while "
                "connecting (DB_CONNECT_TIMEOUT)",
                code="DB_TIMEOUT",
            )
        raise DatabaseUnavailable(
            f"database unavailable: a statement timed out: no answer within "
            f"{command_timeout:g}s ({setting}); the network or the server stalled",
            code="DB_TIMEOUT",
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
    if parsed.get_backend_name() == "postgresql":
        query = dict(parsed.query)
        kwargs["connect_args"] = _postgres_connect_args(
            settings, query, command_timeout=command_timeout
        )
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

    _track_checkouts(engine)
    if engine.dialect.name == "postgresql":
        _name_connect_timeout(
            engine,
            "connect_timeout in DATABASE_URL"
            if "connect_timeout" in parsed.query
            else ("DB_CONNECT_TIMEOUT"),
        )
        _name_timeouts(
            engine,
            connect_timeout=settings.db_connect_timeout,
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
