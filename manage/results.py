"""The end of every command: writing its result, or its one error line (and envelope).

Writing can fail too (a full disk, a closed pipe) or be cut by a stop signal: neither
replaces the command's own exit code nor prints a traceback (see show_result).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import typer

from manage.context import GlobalOptions

Render = Callable[[Any], None]


def _where(options: GlobalOptions) -> str:
    """` (host/db)` for connection messages, password masked; empty if it cannot be told."""
    try:
        from app.config import get_settings
        from db.engine import describe_url

        url = options.database_url or get_settings().db.database_url
        return f" at {describe_url(url)}"
    except Exception:
        return ""


def show_result(
    options: GlobalOptions, result: Any, *, json_output: bool, render: Render | None
) -> None:
    """Write the result of a command that succeeded. A stream that cannot be written (a full
    disk, a closed pipe) is exit 70 "cannot write the output", never a traceback; a stop
    signal is one error line and 130/143/129. With --json the document is all or nothing:
    a signal before the write gives the INTERRUPTED envelope instead, one during the write
    is held back until the write ends (output.write_whole) and then said on stderr."""
    import signal
    import sys

    from app.errors import AppException, ErrorCode
    from manage import interrupts, output

    interrupts.reported(0)
    started = False
    try:
        with interrupts.raising():  # SIGINT/SIGTERM/SIGHUP while printing: one line, 130/143/129
            if json_output:
                document = output.json_document(success=True, data=result)
                started = True
                output.write_whole(document)
            elif render is not None:
                started = True
                render(result)
                sys.stdout.flush()
    except (typer.Exit, typer.Abort):
        raise
    except (interrupts.Interrupted, KeyboardInterrupt) as exc:
        if not started:
            report_failure(
                options, exc, json_output=json_output
            )  # nothing written yet: the envelope
        signum = getattr(exc, "signum", signal.SIGINT)
        state = "the whole result was written" if json_output else "the output may be cut off"
        failure = AppException(
            500, f"interrupted while writing the result ({state})", ErrorCode.INTERRUPTED
        )
        report_failure(
            options,
            failure,
            json_output=False,
            exit_code=interrupts.EXIT_CODES[signum],
            finished=True,
        )
    except OSError as exc:  # stdout (or stderr) cannot be written
        output.silence_stream(sys.stdout)
        reason = exc.strerror or type(exc).__name__
        failure = AppException(
            500,
            f"cannot write the output ({reason}); the command itself finished",
            ErrorCode.INTERNAL_ERROR,
        )
        failure.__cause__ = exc
        report_failure(options, failure, json_output=False, finished=True)
    except Exception as exc:  # a bug in rendering: one line and exit 70, never a traceback
        reason = f"cannot show the result ({type(exc).__name__}); the command itself finished"
        failure = AppException(500, reason, ErrorCode.INTERNAL_ERROR)
        failure.__cause__ = exc  # --verbose shows the original traceback
        report_failure(options, failure, json_output=json_output, finished=True)


def report_failure(
    options: GlobalOptions,
    exc: BaseException,
    *,
    json_output: bool,
    exit_code: int | None = None,
    finished: bool = False,
) -> NoReturn:
    """One error line (and the envelope with --json), then exit with the failure's code.
    Writing them can fail too (a full disk, a closed pipe): the exit code stays.
    `finished`: the command's work is done (its result could not be written); the line says
    so itself, not what the command committed."""
    from manage import interrupts, output
    from manage.errors import classify
    from manage.hints import hint_for

    failure = classify(exc, where=_where(options), finished=finished)
    code = int(failure.exit_code) if exit_code is None else exit_code
    interrupts.reported(code)  # from here a stop signal adds no second line, keeps this code
    if options.verbose:
        output.safely(output.print_traceback, exc)
    output.safely(output.error_line, failure.message)
    hint = None if json_output else hint_for(failure.error_code, failure.message)
    if hint:
        output.safely(output.hint_line, hint)
    if json_output:
        output.safely_json(
            success=False,
            data=failure.data,
            message=failure.message,
            error_code=failure.error_code,
        )
    raise typer.Exit(code)
