"""Every error the API returns is an ApiResponse envelope with the matching HTTP status.

Anything no handler claims (a bug, a race the code did not foresee) is caught by
CatchAllMiddleware: 500 INTERNAL_ERROR with no details, logged as the exception's type and
traceback frames only (never its message, which can carry SQL parameters).

A database error after which the same request can succeed when sent again is a 503 with
`Retry-After`, decided by its SQLSTATE (db.errors.sqlstate), never by its class or message:
PostgreSQL rolled the transaction back because another one won (class 40: serialization_failure
40001, deadlock_detected 40P01, ...), or a server-side timeout fired (57014 statement_timeout or
a cancel request, 55P03 lock_timeout). A client can then tell a bug from a conflict to retry.
"""

from __future__ import annotations

import logging
import traceback

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import AppException, ErrorCode
from app.schemas.common import ApiResponse
from db.errors import (
    BackfillPending,
    Conflict,
    DatabaseLayerError,
    DatabaseUnavailable,
    InvalidArgument,
    LockNotAcquired,
    NotFound,
    sqlstate,
)

logger = logging.getLogger(__name__)
_HTTP_CODES = {
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.REFUSED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.NOT_ALLOWED,
}
# Seconds a client should wait before sending a rolled-back or timed-out request again.
RETRY_AFTER_SECONDS = 1
_ROLLED_BACK = "rolled back by a concurrent transaction; retry"
_TIMEOUTS = {
    "57014": "the database canceled a statement (statement timeout); retry",
    "55P03": "a lock was not available in time (lock timeout); retry",
}


def _envelope(status: int, message: str, error_code: str, headers=None) -> JSONResponse:
    body = ApiResponse[None].fail(message, error_code).model_dump(mode="json")
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return JSONResponse(status_code=status, content=body, headers=headers)


async def _app_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppException)
    retry_after = getattr(exc, "retry_after", None)  # a throttled login (429)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return _envelope(exc.status, exc.message, exc.error_code, headers)


async def _database_layer_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DatabaseLayerError)
    if isinstance(exc, DatabaseUnavailable | LockNotAcquired):
        status = 503
    elif isinstance(exc, InvalidArgument):
        status = 422
    elif isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, Conflict):
        status = 409
    elif isinstance(exc, BackfillPending):
        status = 403
    else:
        status = 500
    return _envelope(status, exc.message, exc.code)


async def _http_exception(_: Request, exc: Exception) -> JSONResponse:
    # Starlette's class: FastAPI's HTTPException subclasses it, so both land here.
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
    return _envelope(exc.status_code, str(exc.detail), code, getattr(exc, "headers", None))


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{location}: {error['msg']}" if location else error["msg"])
    return _envelope(422, "; ".join(parts) or "invalid input", ErrorCode.INVALID_INPUT)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Any DBAPIError, by SQLSTATE first whatever class SQLAlchemy wrapped it in: asyncpg's
    deadlock is a plain DBAPIError, psycopg's an OperationalError, and neither means the
    database is unavailable. A refused, lost or broken connection is 503 DB_UNAVAILABLE;
    anything else goes on to CatchAllMiddleware (500)."""
    assert isinstance(exc, DBAPIError)
    retryable = _retryable(request, exc)
    if retryable is not None:
        return retryable
    if isinstance(exc, OperationalError | InterfaceError):
        return await _database_unavailable(request, exc)
    raise exc


def _retryable(request: Request, exc: Exception) -> JSONResponse | None:
    state = sqlstate(exc)
    if state is None:
        return None
    if state.startswith("40"):  # transaction rollback
        code, message = ErrorCode.CONCURRENT_UPDATE, _ROLLED_BACK
    elif state in _TIMEOUTS:
        code, message = ErrorCode.DB_TIMEOUT, _TIMEOUTS[state]
    else:
        return None
    # Never str(exc): SQLAlchemy's text carries the statement's parameters.
    logger.warning(
        "%s (SQLSTATE %s) in %s %s: 503 %s",
        type(exc).__name__,
        state,
        request.method,
        request.url.path,
        code.value,
    )
    return _envelope(503, message, code, {"Retry-After": str(RETRY_AFTER_SECONDS)})


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    # Never str(exc): it can carry SQL parameters or a connection string.
    logger.error("database unavailable: %s", type(exc).__name__)
    return _envelope(503, "database unavailable", ErrorCode.DB_UNAVAILABLE)


class CatchAllMiddleware:
    """Pure ASGI middleware: an exception that escapes every handler becomes the envelope.

    Not `add_exception_handler(Exception, ...)`: Starlette runs that one in its outermost
    middleware, which re-raises afterwards so the server logs the exception with its message.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            logger.error(
                "unhandled %s in %s %s\n%s",
                type(exc).__name__,
                scope.get("method"),
                scope.get("path"),
                frames,
            )
            if started:  # part of a response went out: nothing valid can follow
                raise RuntimeError("response aborted by an internal error") from None
            response = _envelope(500, "internal error", ErrorCode.INTERNAL_ERROR)
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_middleware(CatchAllMiddleware)
    app.add_exception_handler(AppException, _app_exception)
    app.add_exception_handler(DatabaseLayerError, _database_layer_error)
    # Rolled back by another transaction, a server-side timeout, a connection refused / timed
    # out / dropped: the client may retry; it is not a bug here.
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(OSError, _database_unavailable)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
