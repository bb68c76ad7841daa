"""Rendering: rich for people (stdout for results, stderr for errors), `--json` for scripts."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date, datetime
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

# rich is imported on first output, not with this module: commands import it at their top,
# and `manage GROUP --help` must stay as light as a bare Typer app.


@lru_cache(maxsize=2)
def _console(stderr: bool) -> Console:
    from rich.console import Console

    # rich honours NO_COLOR and turns styling off when the stream is not a terminal.
    return Console(stderr=stderr, soft_wrap=True, highlight=False)


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


def emit_json(
    *, success: bool, data: Any = None, message: str | None = None, error_code: str | None = None
) -> None:
    """Print the one ApiResponse document a `--json` command writes on stdout."""
    from app.schemas.common import ApiResponse

    envelope = ApiResponse[Any](
        success=success, data=to_jsonable(data), message=message, error_code=error_code
    )
    sys.stdout.write(json.dumps(envelope.model_dump(mode="json")) + "\n")
    sys.stdout.flush()


def one_line(text: str) -> str:
    """Escape control characters: a message echoing user input stays one line and cannot
    forge extra lines in a log."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def error_line(message: str) -> None:
    from rich.text import Text

    # Text.assemble, not markup: a message may contain brackets of its own.
    err().print(Text.assemble(("error:", "bold red"), " ", one_line(message)))


def warning_line(message: str) -> None:
    from rich.text import Text

    err().print(Text.assemble(("warning:", "yellow"), " ", one_line(message)))


def success_line(message: str) -> None:
    out().print(message, markup=False, highlight=False)
