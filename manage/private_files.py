"""Write a file that may hold secrets: owner-only, never through a symlink, never wider.

Used by `seed dump --output` (with --include-secrets the file holds password hashes):

- A symlink at the path is refused (exit 5): writing through it would overwrite its target.
  Anything but a regular file there (a directory, a FIFO) is refused too.
- The text goes to a new temporary file beside the path, created O_EXCL|O_NOFOLLOW with its
  final mode, then renamed over the path: no moment where the secrets are readable by others,
  and no half-written file on an error.
- Mode: a new file gets 0600 when `private`, else 0666 minus the umask. An existing file keeps
  its mode, narrowed to owner-only bits when `private`: never wider than before.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from app.errors import AppException, ErrorCode


def _refuse(path: Path, reason: str) -> AppException:
    return AppException(422, f"{path}: {reason}", ErrorCode.INVALID_INPUT)


def _new_file_mode(private: bool) -> int:
    if private:
        return 0o600
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_file(path: Path, text: str, *, private: bool) -> None:
    """Write `text` to `path` as described above; AppException(422) on any refusal."""
    try:
        existing = os.lstat(path)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise _refuse(path, f"cannot write ({exc.strerror})") from None
    if existing is not None:
        if stat.S_ISLNK(existing.st_mode):
            raise _refuse(path, "is a symbolic link; refusing to write through it")
        if not stat.S_ISREG(existing.st_mode):
            raise _refuse(path, "not a regular file; refusing to overwrite it")
        mode = stat.S_IMODE(existing.st_mode) & (0o600 if private else 0o7777)
    else:
        mode = _new_file_mode(private)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(temporary, flags, mode)
        try:
            os.fchmod(fd, mode)  # the umask may have narrowed it further; be exact
            with os.fdopen(fd, "w", encoding="utf-8", closefd=False) as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise _refuse(path, f"cannot write ({exc.strerror or type(exc).__name__})") from None
