"""Every error the API returns is an ApiResponse envelope with the matching HTTP status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

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
)

logger = logging.getLogger(__name__)
_HTTP_CODES = {
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.REFUSED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.NOT_ALLOWED,
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


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    # Never str(exc): it can carry SQL parameters or a connection string.
    logger.error("database unavailable: %s", type(exc).__name__)
    return _envelope(503, "database unavailable", ErrorCode.DB_UNAVAILABLE)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppException, _app_exception)
    app.add_exception_handler(DatabaseLayerError, _database_layer_error)
    # Connection refused / timed out / dropped: the client may retry; it is not a bug here.
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(OSError, _database_unavailable)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
