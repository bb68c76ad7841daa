"""Connections that never hang and never outlive the command: what db/engine.py adds to
every engine for stalls and interruptions.

- TCP keepalives on asyncpg's socket (a vanished peer is noticed within about a minute);
- deadlines named where they pass: a connect or statement that got no answer is
  DatabaseUnavailable (DB_TIMEOUT) naming DB_CONNECT_TIMEOUT / DB_COMMAND_TIMEOUT /
  MIGRATION_COMMAND_TIMEOUT, and its connection is closed (its state is unknown after a stall);
- the connections in use, so a signal can interrupt a SQLite statement (a cancelled await does
  not reach aiosqlite's thread) and a stall outside SQLAlchemy (a raw COPY) can be aborted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from db.errors import DatabaseUnavailable
from db.url import mask

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


# The driver connections checked out right now, in every engine of this process. A
# cancelled await does not stop a statement running in aiosqlite's worker thread (a ROLLBACK
# would queue behind it for as long as it runs); sqlite3's interrupt() does, from any thread.
# An asyncpg connection that stalled outside SQLAlchemy (a raw COPY) is aborted from here.
_IN_USE: set[Any] = set()
_INTERRUPTS: set[Any] = set()  # references to the interrupt tasks until they ran


def track_checkouts(engine: AsyncEngine) -> None:
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


def name_connect_timeout(engine: AsyncEngine, setting: str) -> None:
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


def name_timeouts(
    engine: AsyncEngine,
    *,
    connect_timeout: float,
    connect_setting: str,
    command_timeout: float,
    setting: str,
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
                f"connecting ({connect_setting})",
                code="DB_TIMEOUT",
            )
        raise DatabaseUnavailable(
            f"database unavailable: a statement timed out: no answer within "
            f"{command_timeout:g}s ({setting}); the network or the server stalled",
            code="DB_TIMEOUT",
        )
