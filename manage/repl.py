"""An async Python shell over one database session.

The prompt runs in the main thread, so Ctrl-C behaves as in Python's own REPL (it cancels the
running statement or clears the line); the event loop that owns the session runs in a
background thread, and each statement is executed there (`await` works at the top level).
"""

from __future__ import annotations

import ast
import asyncio
import code
import concurrent.futures
import contextlib
import inspect
import threading
import traceback
import types
from collections.abc import Awaitable, Callable
from typing import Any

BANNER = (
    "manage shell: an async Python shell. `await` works at the top level.\n"
    "Ready: db (an AsyncSession), {names}.\n"
    "Changes are kept only after `await db.commit()`; leaving rolls back the rest."
)


def namespace(db: Any) -> dict[str, Any]:
    """What the shell and `shell -c` start with: the session, the models, the services."""
    import sqlmodel

    import app.models as models
    from app.config import get_settings
    from app.services import audit, roles, users

    names: dict[str, Any] = {
        "db": db,
        "settings": get_settings(),
        "select": sqlmodel.select,
        "col": sqlmodel.col,
        "func": sqlmodel.func,
        "models": models,
        "users": users,
        "roles": roles,
        "audit": audit,
    }
    names.update({name: getattr(models, name) for name in models.__all__})
    return names


def compile_snippet(source: str, filename: str) -> types.CodeType:
    """Compile `source` so top-level await works and a final expression's value is shown."""
    tree = ast.parse(source, filename, "exec")
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        tree.body[-1] = ast.Expr(
            ast.Call(ast.Name("__show__", ast.Load()), [last.value], []),
        )
        ast.copy_location(tree.body[-1], last)
        ast.fix_missing_locations(tree)
    return compile(tree, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def show(value: Any) -> None:
    if value is not None:
        print(repr(value))


async def run_compiled(compiled: types.CodeType, names: dict[str, Any]) -> None:
    names.setdefault("__show__", show)
    result = eval(compiled, names)
    if inspect.iscoroutine(result):
        await result


class _Console(code.InteractiveConsole):
    def __init__(self, names: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(names)
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self.loop = loop

    def runcode(self, code_object: types.CodeType) -> None:
        function = types.FunctionType(code_object, self.locals)

        async def execute() -> Any:
            result = function()
            return await result if inspect.iscoroutine(result) else result

        future = asyncio.run_coroutine_threadsafe(execute(), self.loop)
        try:
            future.result()
        except KeyboardInterrupt:
            future.cancel()
            self.write("\nKeyboardInterrupt\n")
        except (SystemExit, concurrent.futures.CancelledError):
            raise
        except BaseException as exc:
            self._show_error(exc)

    def _show_error(self, exc: BaseException) -> None:
        """The traceback from the user's own code on: our plumbing frames are noise."""
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != "<console>":
            tb = tb.tb_next
        self.write("".join(traceback.format_exception(type(exc), exc, tb)))


def interact(
    open_session: Callable[[Callable[[Any], Awaitable[None]]], Awaitable[None]],
) -> None:
    """Run the shell until EOF (Ctrl-D) or exit(); the session is rolled back at the end."""
    from manage import interrupts

    # Ctrl-C is KeyboardInterrupt at the prompt, as in Python's own REPL; SIGTERM / SIGHUP
    # end the process (what was committed with `await db.commit()` stays).
    interrupts.reported(None)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="manage-shell-loop", daemon=True)
    thread.start()
    ready: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
    finished = asyncio.Event()

    async def handler(db: Any) -> None:
        ready.set_result(namespace(db))
        await finished.wait()
        await db.rollback()

    session_future = asyncio.run_coroutine_threadsafe(open_session(handler), loop)
    try:
        names = ready.result()
        shown = sorted(k for k in names if k not in {"db", "__builtins__"})
        console = _Console(names, loop)
        with contextlib.suppress(SystemExit):  # exit() / quit() leave the shell
            console.interact(banner=BANNER.format(names=", ".join(shown)), exitmsg="")
    finally:
        loop.call_soon_threadsafe(finished.set)
        try:
            session_future.result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
