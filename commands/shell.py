"""`manage shell`: an async Python shell with a session, the models and the services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from manage.runner import run_session

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

# The help is the callback's docstring; `manage --help` lists manage/cli.py's tagline.
app = typer.Typer()


@app.callback(invoke_without_command=True)
def shell(
    ctx: typer.Context,
    command: Annotated[
        str | None,
        typer.Option("-c", "--command", help="Run this code and exit.", show_default=False),
    ] = None,
) -> None:
    """Open an async Python shell: `db` (an AsyncSession), the models, the services.

    `await` works at the top level. Interactively, changes are kept only after
    `await db.commit()`. With -c, the code runs in one transaction that is committed when it
    succeeds and rolled back on any error (exit codes as for every command); the value of a
    final expression is printed.
    """
    if command is not None:
        from manage.errors import UsageError
        from manage.repl import compile_snippet
        from manage.runner import fail

        try:
            compiled = compile_snippet(command, "<manage shell -c>")
        except SyntaxError as exc:
            fail(ctx, UsageError(f"-c: SyntaxError: {exc.msg} (line {exc.lineno})"))
            return

        async def handler(db: AsyncSession) -> None:
            from manage.errors import snippet_error
            from manage.repl import namespace, run_compiled

            try:
                await run_compiled(compiled, namespace(db))
            except (Exception, SystemExit) as exc:
                # The snippet's own mistakes are the user's input, not a bug in manage.
                failure = snippet_error(exc)
                if failure is exc:
                    raise
                raise failure from exc

        run_session(ctx, handler)
        return
    from manage.context import global_options
    from manage.repl import interact
    from manage.runner import open_session

    options = global_options(ctx)
    interact(lambda handler: open_session(options, handler))
