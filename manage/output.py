"""Rendering: rich for people (stdout for results, stderr for errors), `--json` for scripts."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from datetime import date, datetime
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

# rich is imported on first output, not with this module: commands import it at their top,
# and `manage GROUP --help` must stay as light as a bare Typer app.


@lru_cache(maxsize=2)
def _console(stderr: bool) -> Console:
    from rich.console import Console

    # rich honours NO_COLOR and turns styling off when the stream is not a terminal.
    # markup and emoji off: a plain string that reaches print() is never interpreted
    # (our own styling goes through Text objects); data also goes through plain() below.
    return Console(stderr=stderr, soft_wrap=True, highlight=False, markup=False, emoji=False)


def out() -> Console:
    return _console(False)


def err() -> Console:
    return _console(True)


def reset_consoles() -> None:
    """Forget cached consoles (each command may run with other streams, e.g. under CliRunner)."""
    _console.cache_clear()


def to_jsonable(value: Any) -> Any:
    """Turn pydantic models, dataclasses, datetimes and containers into plain JSON values."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def json_document(
    *, success: bool, data: Any = None, message: str | None = None, error_code: str | None = None
) -> str:
    """The one ApiResponse document a `--json` command writes on stdout, as one line of text
    ending in a newline."""
    from app.schemas.common import ApiResponse

    envelope = ApiResponse[Any](
        success=success, data=to_jsonable(data), message=message, error_code=error_code
    )
    return json.dumps(envelope.model_dump(mode="json")) + "\n"


def emit_json(
    *, success: bool, data: Any = None, message: str | None = None, error_code: str | None = None
) -> None:
    """Print the one ApiResponse document on stdout. The whole document is built before the
    first byte is written, then written in one go with the stop signals held back
    (write_whole): a reader gets all of it or nothing. Raises OSError when stdout cannot be
    written (callers: see safely())."""
    write_whole(json_document(success=success, data=data, message=message, error_code=error_code))


def write_whole(text: str) -> None:
    """Write `text` to stdout and flush, with SIGINT/SIGTERM/SIGHUP held back meanwhile.

    A signal that arrives during the write is delivered when it ends (the caller sees it
    as usual). Raises OSError when stdout cannot be written (a full disk, a closed pipe)."""
    import signal

    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    # Two holds: the thread's signal mask keeps a signal pending while a write is blocked in
    # the kernel (a full pipe); Python-level handlers catch one that the kernel hands to
    # another thread (a driver's or an executor's), whose handler Python still runs here.
    received: list[int] = []
    handlers: dict[int, Any] = {}
    try:
        for signum in stops:
            handlers[signum] = signal.signal(signum, lambda number, _frame: received.append(number))
    except ValueError:  # not the main thread: nothing can be held
        pass
    try:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    except (AttributeError, OSError, ValueError):  # no signal masks on this platform
        mask = None
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        if mask is not None:  # a pending signal now reaches the handler that was in place
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if received:
            signal.raise_signal(received[0])


def write_failed(exc: BaseException) -> bool:
    """True when `exc` means a stream could not be written (EPIPE, ENOSPC, EIO, ...)."""
    return isinstance(exc, OSError)


def silence_stream(stream: Any) -> None:
    """Point `stream` (sys.stdout or sys.stderr) at /dev/null after a write to it failed,
    so that nothing later (rich, the interpreter's final flush) fails again and prints a
    traceback or replaces the exit code. What was buffered for it is dropped."""
    import contextlib
    import os

    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (tests capture into memory): nothing flushes at exit
    with contextlib.suppress(OSError, ValueError):
        stream.flush()
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)


def safely(write: Any, *args: Any, **kwargs: Any) -> bool:
    """Call one final write to stderr (an error line, a hint, a traceback); True if it was
    written. A stderr that cannot be written is silenced (silence_stream), never a
    traceback: the caller's exit code stays the one it was about to return."""
    try:
        write(*args, **kwargs)
        return True
    except OSError:
        silence_stream(sys.stderr)
        return False


def safely_json(**envelope: Any) -> bool:
    """emit_json(**envelope) on stdout; like safely(), a stdout that cannot be written is
    silenced and the exit code stays."""
    try:
        emit_json(**envelope)
        return True
    except OSError:
        silence_stream(sys.stdout)
        return False


def one_line(text: str) -> str:
    """Escape control characters: a message echoing user input stays one line and cannot
    forge extra lines in a log."""
    return escape_controls(text)


def escape_controls(text: str, *, keep: str = "") -> str:
    r"""`text` with every non-printable character (C0/C1 controls such as ESC, newlines,
    Unicode format characters such as bidi overrides) written as its Python escape, e.g.
    "\x1b"; characters in `keep` (e.g. "\n" for a block of SQL) pass through."""
    if text.isprintable():
        return text
    return "".join(
        ch
        if ch.isprintable() or ch == " " or ch in keep
        else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def plain(value: object) -> Text:
    """Data (from the database, a file, the environment, a user) as one line of rich Text:
    never markup (`[/]`), emoji codes or control sequences. None is an empty cell."""
    from rich.text import Text

    return Text(escape_controls("" if value is None else str(value)))


def plain_lines(values: list[str], *, empty: str = "") -> Text:
    """Several data values as one multi-line cell, each escaped like plain()."""
    from rich.text import Text

    if not values:
        return Text(empty)
    return Text("\n").join(plain(value) for value in values)


def add_row(table: Table, *values: object) -> None:
    """Add a table row whose every cell is data: see plain()."""
    from rich.text import Text

    table.add_row(*(value if isinstance(value, Text) else plain(value) for value in values))


# PostgreSQL quotes the offending row in an error's DETAIL ("Failing row contains (1, ops@...,
# $argon2id$...)", "Key (email)=(...) already exists"); asyncpg puts it into the message. It
# runs to the next part SQLAlchemy or the traceback adds, or to the end.
_DETAIL = re.compile(r"DETAIL: .*?(?=\n\[SQL: |\n\(Background on |\nHINT: |\n\n|\Z)", re.DOTALL)


def print_traceback(exc: BaseException) -> None:
    """The --verbose traceback on stderr: never local variables (a frame may hold a
    password), never SQL parameters (every engine hides them), never the row values of a
    PostgreSQL error's DETAIL (they can hold a password hash)."""
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    for quoted in _encoder_errors(exc):
        text = text.replace(quoted, "(hidden: it may quote a parameter value)")
    sys.stderr.write(scrub_driver_text(text))
    sys.stderr.flush()


# asyncpg names a parameter it could not encode with its value: "invalid input for query
# argument $2: 'secret-actor' (expected str, got int)" (asyncpg/protocol/prepared_stmt.pyx,
# _encode_bind_msg); the codec error it chains from can quote the value again ("invalid UUID
# 'x': ..."). Everything after "$N:" to the end of the line is the value and its reason.
_QUERY_ARGUMENT = re.compile(r"(invalid input for query argument \$\d+):[^\n]*")


def _encoder_errors(exc: BaseException) -> list[str]:
    """The messages of the codec errors behind asyncpg's "invalid input for query argument"
    anywhere in `exc`'s chain (they may quote the value, e.g. "invalid UUID 'x'")."""
    found: list[str] = []
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        links = [current.__cause__, current.__context__, getattr(current, "orig", None)]
        if _QUERY_ARGUMENT.search(str(current)):
            for cause in (current.__cause__, current.__context__):
                if cause is not None and str(cause) and not _QUERY_ARGUMENT.search(str(cause)):
                    found.append(str(cause))
        pending.extend(link for link in links if isinstance(link, BaseException))
    return found


def scrub_driver_text(text: str) -> str:
    """`text` (a traceback) without row values (a PostgreSQL error's DETAIL) or statement
    parameter values (asyncpg's "invalid input for query argument $N: <value>")."""
    text = _DETAIL.sub("DETAIL: (hidden: it may quote row values)", text)
    return _QUERY_ARGUMENT.sub(r"\1: (value hidden)", text)


def error_line(message: str) -> None:
    from rich.text import Text

    # Text.assemble, not markup: a message may contain brackets of its own.
    err().print(Text.assemble(("error:", "bold red"), " ", one_line(message)))


def warning_line(message: str) -> None:
    from rich.text import Text

    # A diagnostic: a stderr that cannot be written must not fail the command.
    safely(err().print, Text.assemble(("warning:", "yellow"), " ", one_line(message)))


def hint_line(message: str) -> None:
    """What to try next, on stderr after an error line."""
    err().print(plain(message))


def success_line(message: str) -> None:
    """One line of a result on stdout; data in it is escaped (see plain())."""
    out().print(plain(message))


def progress_line(message: str) -> None:
    """One line of progress on stderr (nothing a script parses); escaped like plain().
    A stderr that cannot be written must not fail the command: the line is dropped."""
    safely(err().print, plain(message))


def text_block(message: str) -> None:
    """Several lines of a result on stdout (e.g. generated SQL): each line escaped like
    plain(), the line breaks kept."""
    from rich.text import Text

    out().print(Text(escape_controls(message, keep="\n\t")))
