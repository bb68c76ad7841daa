"""Reading and writing the files commands are given, with the usual errors (exit 3 or 5)."""

from __future__ import annotations

import sys
from pathlib import Path

from app.errors import AppException, ErrorCode


def read_text(file: Path) -> str:
    """The text of `file` ("-" reads standard input); missing: 404, unreadable: 422."""
    if str(file) == "-":
        return sys.stdin.read()
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AppException(404, f"{file}: no such file", ErrorCode.NOT_FOUND) from None
    except UnicodeDecodeError:
        raise AppException(422, f"{file}: not UTF-8 text", ErrorCode.INVALID_INPUT) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise AppException(
            422, f"{file}: cannot read ({reason})", ErrorCode.INVALID_INPUT
        ) from None


def write_text(file: Path, text: str) -> None:
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise AppException(
            422, f"{file}: cannot write ({reason})", ErrorCode.INVALID_INPUT
        ) from None
