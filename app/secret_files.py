"""Reading a secret (a password) from a file or a stream: bounded, UTF-8, never echoed.

The rules every password source shares (--password-file, --password-stdin, MANAGE_PASSWORD,
FIRST_SUPERUSER_PASSWORD_FILE, a seed's password_file and password_env):

- At most MAX_SECRET_BYTES are read: a 10 MB stream or /dev/zero is refused after 64 KiB,
  never read to the end. (The password policy then refuses anything over the hasher's
  limit, see app.security.max_password_bytes.)
- A file must be a regular file once symlinks are followed: Docker secrets are regular
  files and Kubernetes secrets are symlinks to regular files. FIFOs (`<(...)`), devices
  (/dev/zero, /dev/stdin), directories and sockets are refused; a pipe goes through
  --password-stdin instead.
- The bytes must be UTF-8. One leading byte-order mark (EF BB BF, what Windows editors write)
  is removed, never kept as part of the password; one trailing newline (LF or CRLF) too.
- An error names the reason, never the content: not even a fragment of it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

MAX_SECRET_BYTES = 64 * 1024
BOM = "\ufeff"


class SecretFileError(ValueError):
    """A secret that cannot be used; the message is the reason, never the content."""


class NotRegularFile(SecretFileError):
    """A FIFO, device or socket where a secret file was expected."""


def decode_secret(raw: bytes) -> str:
    """`raw` as text: UTF-8, one leading BOM and one trailing newline removed.

    Raises SecretFileError("not UTF-8 text (invalid byte at offset N)") otherwise.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SecretFileError(f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    return strip_secret(text)


def strip_secret(text: str) -> str:
    """One leading byte-order mark and one trailing newline (LF or CRLF) removed."""
    return text.removeprefix(BOM).removesuffix("\n").removesuffix("\r")


def _too_large() -> SecretFileError:
    return SecretFileError(f"larger than {MAX_SECRET_BYTES // 1024} KiB; a password is far shorter")


def read_secret_file(path: Path) -> str:
    """The secret in `path`, a regular file (symlinks followed), at most MAX_SECRET_BYTES.

    Raises SecretFileError with the reason: unreadable, not a regular file, too large, not
    UTF-8, empty. Callers name the setting or option it came from.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of hanging;
        # fstat on the open descriptor then tells what it really is (no check-then-open race).
        fd = os.open(path.expanduser(), flags)
    except OSError as exc:
        raise SecretFileError(exc.strerror or type(exc).__name__) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise SecretFileError("it is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise NotRegularFile("not a regular file (a pipe, a device or a socket)")
        with os.fdopen(fd, "rb", closefd=True) as stream:
            fd = -1
            raw = stream.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise SecretFileError(exc.strerror or type(exc).__name__) from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(raw) > MAX_SECRET_BYTES:
        raise _too_large()
    secret = decode_secret(raw)
    if not secret:
        raise SecretFileError("it is empty")
    return secret


def secret_from_environment(value: str) -> str:
    """A secret held in an environment variable, under the same rules as a file: its bytes
    (Python decodes the environment with surrogateescape; os.fsencode gives them back) must
    be UTF-8 and at most MAX_SECRET_BYTES; one BOM and one trailing newline are removed.

    Raises SecretFileError with the reason, never the content.
    """
    raw = os.fsencode(value)
    if len(raw) > MAX_SECRET_BYTES:
        raise _too_large()
    return decode_secret(raw)


def read_secret_line(stream: BinaryIO | None) -> str:
    """The first line of `stream` (e.g. standard input's bytes), at most MAX_SECRET_BYTES.

    Reads no further than the limit: a 10 MB stream is refused after 64 KiB. An empty or
    absent stream gives "" (the caller says which source was empty).
    """
    if stream is None:
        return ""
    try:
        raw = stream.readline(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise SecretFileError(exc.strerror or type(exc).__name__) from None
    if len(raw) > MAX_SECRET_BYTES and not raw.endswith(b"\n"):
        raise _too_large()
    return decode_secret(raw)
