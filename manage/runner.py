"""The one runner every command uses.

settings -> engine -> AsyncSession -> the command's async handler -> commit; any error or
Ctrl-C -> rollback -> dispose -> one line on stderr (and the JSON envelope with --json) ->
the exit code from manage/exit_codes.py. Typer has no async commands: this is the single
place that calls asyncio.run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from manage.context import GlobalOptions, global_options

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine
    from sqlmodel.ext.asyncio.session import AsyncSession

    from app.config import Settings

T = TypeVar("T")
Render = Callable[[Any], None]


@dataclass
class Runtime:
    """What an engine-level handler gets: the effective settings and the built engine."""

    settings: Settings
    engine: AsyncEngine


def load_settings(options: GlobalOptions) -> Settings:
    """The effective settings for this command, with friendly errors for bad values."""
    from pydantic import ValidationError

    from app.config import get_settings
    from db.config import normalize_database_url
    from manage.errors import UsageError

    try:
        settings = get_settings()
    except ValidationError as exc:
        # Name the environment variable, never the value (a URL may hold a password).
        problems = [
            f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        ]
        raise UsageError("invalid setting " + "; ".join(problems)) from None
    if options.database_url:
        try:
            url = normalize_database_url(options.database_url)
        except ValueError as exc:
            raise UsageError(f"--database-url {exc}") from None
        if url != settings.db.database_url:
            settings.db = settings.db.model_copy(update={"database_url": url})
    return settings


def settings_for(ctx: typer.Context) -> Settings:
    return load_settings(global_options(ctx))


async def _with_engine(options: GlobalOptions, body: Callable[[Runtime], Awaitable[T]]) -> T:
    import asyncio

    from db.engine import create_engine

    settings = load_settings(options)
    engine = create_engine(settings.db)
    try:
        return await body(Runtime(settings=settings, engine=engine))
    finally:
        await asyncio.shield(engine.dispose())


async def open_session(
    options: GlobalOptions, handler: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """Settings -> engine -> one session -> handler; commit on success, else roll back."""
    import asyncio

    from db.engine import session_factory

    async def body(runtime: Runtime) -> T:
        # SQLite: take the write lock at BEGIN (db/engine.py), so concurrent writers queue
        # for the busy timeout instead of failing when a read lock cannot be upgraded.
        immediate = {"sqlite_begin": "IMMEDIATE"}
        async with session_factory(runtime.engine)(execution_options=immediate) as session:
            try:
                result = await handler(session)
                await session.commit()
            except BaseException:
                await asyncio.shield(session.rollback())
                raise
            return result

    return await _with_engine(options, body)


def _where(options: GlobalOptions) -> str:
    """` (host/db)` for connection messages, password masked; empty if it cannot be told."""
    try:
        from app.config import get_settings
        from db.engine import describe_url

        url = options.database_url or get_settings().db.database_url
        return f" at {describe_url(url)}"
    except Exception:
        return ""


def _finish(
    options: GlobalOptions,
    coroutine_factory: Callable[[], Awaitable[T]],
    *,
    json_output: bool,
    render: Render | None,
) -> T:
    import asyncio

    from manage import output

    output.reset_consoles()
    try:
        result = asyncio.run(coroutine_factory())
    except (typer.Exit, typer.Abort):
        raise
    except BaseException as exc:  # KeyboardInterrupt and CancelledError included
        _fail(options, exc, json_output=json_output)
    try:
        if json_output:
            output.emit_json(success=True, data=result)
        elif render is not None:
            render(result)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # a bug in rendering: one line and exit 70, never a traceback
        from app.errors import AppException, ErrorCode

        reason = (
            f"cannot show the result ({type(exc).__name__}); "
            "the command finished and its changes were committed"
        )
        failure = AppException(500, reason, ErrorCode.INTERNAL_ERROR)
        failure.__cause__ = exc  # --verbose shows the original traceback
        _fail(options, failure, json_output=json_output)
    return result


def _fail(options: GlobalOptions, exc: BaseException, *, json_output: bool) -> NoReturn:
    from manage import output
    from manage.errors import classify

    failure = classify(exc, where=_where(options))
    if options.verbose:
        output.print_traceback(exc)
    output.error_line(failure.message)
    if json_output:
        output.emit_json(
            success=False,
            data=failure.data,
            message=failure.message,
            error_code=failure.error_code,
        )
    raise typer.Exit(int(failure.exit_code))


def run_session(
    ctx: typer.Context,
    handler: Callable[[AsyncSession], Awaitable[T]],
    *,
    json_output: bool = False,
    render: Render | None = None,
) -> T:
    """Run `handler(db)` in one transaction: commit on success, roll back on anything else."""
    options = global_options(ctx)
    return _finish(
        options, lambda: open_session(options, handler), json_output=json_output, render=render
    )


def run_engine(
    ctx: typer.Context,
    handler: Callable[[Runtime], Awaitable[T]],
    *,
    json_output: bool = False,
    render: Render | None = None,
) -> T:
    """Run `handler(runtime)` for commands that manage their own connections (migrations)."""
    options = global_options(ctx)
    return _finish(
        options, lambda: _with_engine(options, handler), json_output=json_output, render=render
    )


def prepare(ctx: typer.Context, build: Callable[[], T], *, json_output: bool = False) -> T:
    """Run `build()` (parse, validate, read passwords, confirm) before any database work;
    any error is reported and exits like a command's (Ctrl-C at a prompt: 130)."""
    try:
        return build()
    except (typer.Exit, typer.Abort):
        raise
    except BaseException as exc:
        fail(ctx, exc, json_output=json_output)


def fail(ctx: typer.Context, exc: BaseException, *, json_output: bool = False) -> NoReturn:
    """Report an error found before any database work (e.g. no password source) and exit."""
    _fail(global_options(ctx), exc, json_output=json_output)
