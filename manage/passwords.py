"""Where a password comes from. Never argv: an option value is visible in the process list.

Order: --password-stdin, --password-file, --generate-password, $MANAGE_PASSWORD, then a hidden
prompt asked twice when stdin is a terminal. No source and no terminal is an error at once,
never a hang. A weak password is refused with the rule it breaks (asked again on a prompt).
What a source may hold (UTF-8, size caps, a byte-order mark removed, regular files only) is
app/secret_files.py's; a password the hasher cannot take in full is exit 5 before hashing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import typer

from app.errors import AppException, ErrorCode

PASSWORD_ENV = "MANAGE_PASSWORD"
Check = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Password:
    value: str
    generated: bool = False

    def __repr__(self) -> str:
        return f"Password(generated={self.generated})"


def _invalid(message: str) -> AppException:
    return AppException(422, message, ErrorCode.INVALID_INPUT)


def _stdin_bytes() -> BinaryIO | None:
    """Standard input as bytes: the password is decoded (strictly, as UTF-8) by us, not by
    the locale's text layer, which would raise on a non-UTF-8 byte or replace it silently."""
    if sys.stdin is None:
        return None
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        return buffer
    import io

    from app.secret_files import MAX_SECRET_BYTES

    # A text-only stream (an embedding program's StringIO): its first line, re-encoded.
    line = sys.stdin.readline(MAX_SECRET_BYTES + 1)
    return io.BytesIO(line.encode("utf-8", "surrogatepass"))


def interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def read_password(
    *,
    stdin: bool = False,
    file: Path | None = None,
    generate: bool = False,
    prompt: str = "Password",
    check: Check | None = None,
) -> Password:
    """Return the password from the one source given (see the module docstring)."""
    given = [
        name
        for name, on in (
            ("--password-stdin", stdin),
            ("--password-file", file is not None),
            ("--generate-password", generate),
        )
        if on
    ]
    if len(given) > 1:
        raise _invalid(f"use one password source, not {' and '.join(given)}")
    if generate:
        from app.security import generate_password

        return Password(generate_password(), generated=True)
    from app.secret_files import (
        NotRegularFile,
        SecretFileError,
        read_secret_file,
        read_secret_line,
        secret_from_environment,
    )
    from app.security import password_size_problem

    if stdin:
        source = "standard input"
        try:
            password = read_secret_line(_stdin_bytes())
        except SecretFileError as exc:
            raise _invalid(f"cannot use the password from {source}: {exc}") from None
    elif file is not None:
        source = f"--password-file {file}"
        try:
            password = read_secret_file(file)
        except NotRegularFile as exc:
            raise _invalid(f"cannot use {source}: {exc}; pipe it to --password-stdin") from None
        except SecretFileError as exc:
            raise _invalid(f"cannot use {source}: {exc}") from None
    elif os.environ.get(PASSWORD_ENV):
        source = f"${PASSWORD_ENV}"
        try:
            password = secret_from_environment(os.environ[PASSWORD_ENV])
        except SecretFileError as exc:
            raise _invalid(f"cannot use the password from {source}: {exc}") from None
    elif interactive():
        return Password(_prompt_twice(prompt, check))
    else:
        raise _invalid(
            "no password source: use --password-stdin, --password-file PATH, "
            f"--generate-password or ${PASSWORD_ENV} (no terminal to prompt on)"
        )
    if not password:
        raise _invalid(f"the password from {source} is empty")
    if problem := password_size_problem(password):  # before any policy check or hashing
        raise _invalid(f"cannot use the password from {source}: {problem}")
    if check is not None and (problem := check(password)):
        raise AppException(422, problem, ErrorCode.WEAK_PASSWORD)
    return Password(password)


def ask(text: str, *, default: str | None = None) -> str:
    """typer.prompt, with Ctrl-C / Ctrl-D meaning "interrupted" (exit 130), not click's Abort."""
    try:
        return typer.prompt(text, default=default, show_default=default not in (None, ""))
    except typer.Abort:
        raise KeyboardInterrupt from None
    except UnicodeDecodeError:
        raise _invalid(f"the answer to {text!r} is not UTF-8 text") from None


def _prompt_twice(prompt: str, check: Check | None) -> str:
    from manage.output import error_line

    while True:
        try:
            password = typer.prompt(prompt, hide_input=True)
            if check is not None and (problem := check(password)):
                error_line(f"{problem}; try another")
                continue
            again = typer.prompt(f"{prompt} (again)", hide_input=True)
        except typer.Abort:
            raise KeyboardInterrupt from None
        except UnicodeDecodeError:  # the terminal sent bytes that are not UTF-8
            error_line("the password is not UTF-8 text; try again")
            continue
        if again != password:
            error_line("the passwords do not match; try again")
            continue
        return password
