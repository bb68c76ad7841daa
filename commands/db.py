"""`manage db`: database readiness."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from manage.options import JsonOption
from manage.runner import run_engine

if TYPE_CHECKING:
    from manage.runner import Runtime

app = typer.Typer(help="Check the database: reachable and migrated.", no_args_is_help=True)


@app.command("check")
def check(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Check that the database is reachable and migrated to head.

    Exit 0 when ready, 1 when it is behind (or ahead of) the code's head, 6 when unreachable.
    With --json, `data` is {"reachable", "current", "heads", "pending"}.
    """

    async def handler(runtime: Runtime) -> dict[str, Any]:
        from db import migrations
        from manage.errors import CheckFailed

        state = await migrations.status(runtime.engine)
        report = {
            "reachable": True,
            "current": state.current,
            "heads": state.heads,
            "pending": [rev.revision for rev in state.pending],
        }
        if not state.at_head:
            current = ", ".join(state.current) or "an empty schema (no migrations applied)"
            raise CheckFailed(
                f"not ready: database is at {current}; head is {', '.join(state.heads)} "
                f"({len(report['pending'])} pending)",
                error_code="NOT_AT_HEAD",
                data=report,
            )
        return report

    run_engine(
        ctx,
        handler,
        json_output=json_output,
        render=lambda report: _say(f"ready: database at head {', '.join(report['heads'])}"),
    )


def _say(message: str) -> None:
    from manage.output import success_line

    success_line(message)
