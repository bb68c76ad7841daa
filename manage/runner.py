"""The one runner every command uses.

settings -> engine -> AsyncSession -> the command's async handler -> commit; any error or
SIGINT / SIGTERM / SIGHUP (manage/interrupts.py) -> rollback -> dispose -> one line on stderr
(and the JSON envelope with --json) -> the exit code from manage/exit_codes.py. Typer has no
async commands: this is the single place that runs the event loop.

Cleanup never hides the error that caused it: a rollback or dispose that fails (the
connection was lost mid-COPY) or hangs (a stalled network) is cut off after
CLEANUP_TIMEOUT seconds, its connection is invalidated (closed, never returned to a pool)
and the original exception is the one reported.
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
# What a handler returns when it has nothing to report yet because the command goes on with
# another step (create-superuser --if-exists skip looks the account up before reading any
# password): _finish prints nothing for it, not even a JSON envelope.
CONTINUE: Any = object()
Render = Callable[[Any], None]

# Seconds a ROLLBACK or an engine dispose may take once a command failed. On a healthy server
# both take milliseconds; a longer wait means the network or server stalled, and closing the
# socket is then the only way out (the server rolls back a session whose client is gone).
CLEANUP_TIMEOUT = 1.0


@dataclass
class Runtime:
    """What an engine-level handler gets: the effective settings and the built engine."""

    settings: Settings
    engine: AsyncEngine


def load_settings(options: GlobalOptions) -> Settings:
    """The effective settings for this command, with friendly errors for bad values."""
    from pydantic import ValidationError

    from app.config import SettingsSourceError, get_settings
    from db.config import normalize_database_url
    from manage.errors import UsageError

    try:
        settings = get_settings()
    except SettingsSourceError as exc:
        raise UsageError(f"invalid setting {exc}") from None
    except ValidationError as exc:
        # Name the environment variable, never the value (a URL may hold a password).
        problems = [
            f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg'].removeprefix('Value error, ')}"
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
    from db.engine import create_engine

    settings = load_settings(options)
    engine = create_engine(settings.db)
    try:
        return await body(Runtime(settings=settings, engine=engine))
    finally:
        await bounded_cleanup(engine.dispose(), on_timeout=None)


async def bounded_cleanup(
    cleanup: Awaitable[Any], *, on_timeout: Callable[[], Awaitable[Any]] | None
) -> None:
    """Await `cleanup` for at most CLEANUP_TIMEOUT seconds; never raise.

    Runs while an exception (or a signal's cancellation) is on its way up, and must not
    replace it: a failure here is only shown with --verbose. On failure or timeout
    `on_timeout` (e.g. invalidating the session's connection) gets one more bounded try.
    """
    import asyncio

    try:
        async with asyncio.timeout(CLEANUP_TIMEOUT):
            await cleanup
        return
    except BaseException as exc:
        _cleanup_failed(exc)
    if on_timeout is not None:
        try:
            async with asyncio.timeout(CLEANUP_TIMEOUT):
                await on_timeout()
        except BaseException as exc:
            _cleanup_failed(exc)


def _stalled(exc: BaseException) -> bool:
    """A deadline passed with no answer (asyncpg's command_timeout on a driver call)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, TimeoutError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _cleanup_failed(exc: BaseException) -> None:
    import logging

    logging.getLogger("manage.runner").debug("cleanup failed: %s", type(exc).__name__, exc_info=exc)


async def open_session(
    options: GlobalOptions, handler: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """Settings -> engine -> one session -> handler; commit on success, else roll back.

    The rollback is bounded and cannot replace the error that caused it (bounded_cleanup):
    a connection that cannot be rolled back is invalidated, never reused.
    """
    from db import progress
    from db.engine import session_factory
    from db.stalls import abort_stalled_connections

    async def body(runtime: Runtime) -> T:
        # SQLite: take the write lock at BEGIN (db/engine.py), so concurrent writers queue
        # for the busy timeout instead of failing when a read lock cannot be upgraded.
        immediate = {"sqlite_begin": "IMMEDIATE"}
        session = session_factory(runtime.engine)(execution_options=immediate)
        try:
            result = await handler(session)
            if result is not CONTINUE:
                # A handler that returns CONTINUE only looked something up for the next
                # step: nothing of it stays, and a failure later must not say it committed.
                progress.step_done("", "this command's changes")
            progress.commit_sent()
            await session.commit()
            progress.steps_committed()
        except BaseException as exc:
            progress.steps_rolled_back()
            if _stalled(exc):
                abort_stalled_connections()  # a ROLLBACK would only wait for the stall
            await bounded_cleanup(session.rollback(), on_timeout=session.invalidate)
            await bounded_cleanup(session.close(), on_timeout=session.invalidate)
            raise
        await bounded_cleanup(session.close(), on_timeout=session.invalidate)
        return result

    return await _with_engine(options, body)


def _finish(
    options: GlobalOptions,
    coroutine_factory: Callable[[], Awaitable[T]],
    *,
    json_output: bool,
    render: Render | None,
) -> T:
    from db import progress
    from db.stalls import interrupt_sqlite_statements
    from manage import interrupts, output
    from manage.results import report_failure as _fail
    from manage.results import show_result

    output.reset_consoles()
    progress.reset()
    try:
        result = interrupts.run(coroutine_factory, on_signal=interrupt_sqlite_statements)
    except (typer.Exit, typer.Abort):
        raise
    except BaseException as exc:  # Interrupted (signals) and CancelledError included
        _fail(options, exc, json_output=json_output)
    if result is not CONTINUE:
        show_result(options, result, json_output=json_output, render=render)
    return result


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
    from manage import interrupts

    try:
        with interrupts.raising():
            return build()
    except (typer.Exit, typer.Abort):
        raise
    except BaseException as exc:
        fail(ctx, exc, json_output=json_output)


def fail(ctx: typer.Context, exc: BaseException, *, json_output: bool = False) -> NoReturn:
    """Report an error found before any database work (e.g. no password source) and exit."""
    from manage.results import report_failure as _fail

    _fail(global_options(ctx), exc, json_output=json_output)
