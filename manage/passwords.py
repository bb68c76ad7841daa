"""Where a password comes from. Never argv: an option value is visible in the process list.

Order: --password-stdin, --password-file, $MANAGE_PASSWORD, then a hidden prompt asked twice
when stdin is a terminal. No source and no terminal is an error at once, never a hang.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from app.errors import AppException, ErrorCode

PASSWORD_ENV = "MANAGE_PASSWORD"


def _invalid(message: str) -> AppException:
    return AppException(422, message, ErrorCode.INVALID_INPUT)


def _strip_newline(text: str) -> str:
    return text[:-1] if text.endswith("\n") else text


def read_password(
    *,
    stdin: bool = False,
    file: Path | None = None,
    prompt: str = "Password",
    check: Callable[[str], str | None] | None = None,
) -> str:
    """Return the password from the first source given.

    `check` returns why a password is refused (or None); the prompt explains and asks again,
    the non-interactive sources fail with that reason.
    """
    given = [name for name, on in (("--password-stdin", stdin), ("--password-file", file)) if on]
    if len(given) > 1:
        raise _invalid(f"use one password source, not {' and '.join(given)}")
    if stdin:
        if sys.stdin is None:
            raise _invalid("--password-stdin given but there is no standard input")
        password = _strip_newline(sys.stdin.readline()).removesuffix("\r")
        source = "standard input"
    elif file is not None:
        try:
            password = _strip_newline(file.read_text(encoding="utf-8")).removesuffix("\r")
        except OSError as exc:
            raise _invalid(f"cannot read --password-file {file}: {exc.strerror}") from None
        source = f"--password-file {file}"
    elif os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
        source = f"${PASSWORD_ENV}"
    elif sys.stdin is not None and sys.stdin.isatty():
        return _prompt_twice(prompt, check)
    else:
        raise _invalid(
            "no password source: use --password-stdin, --password-file PATH or "
            f"${PASSWORD_ENV} (no terminal to prompt on)"
        )
    if not password:
        raise _invalid(f"the password from {source} is empty")
    if check is not None and (problem := check(password)):
        raise AppException(422, problem, ErrorCode.WEAK_PASSWORD)
    return password


def _prompt_twice(prompt: str, check: Callable[[str], str | None] | None) -> str:
    import typer

    from manage.output import error_line

    while True:
        password = typer.prompt(prompt, hide_input=True)
        if check is not None and (problem := check(password)):
            error_line(f"{problem}; try another")
            continue
        again = typer.prompt(f"{prompt} (again)", hide_input=True)
        if again != password:
            error_line("the passwords do not match; try again")
            continue
        return password
