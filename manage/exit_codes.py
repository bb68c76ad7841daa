"""The exit codes every command uses (README.md documents them)."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1  # a check found problems (drift, review findings, not ready)
    USAGE = 2  # unknown option, missing argument (click's own code)
    NOT_FOUND = 3
    CONFLICT = 4  # already exists, still in use
    INVALID = 5  # validation, weak password, no password source
    UNAVAILABLE = 6  # database unreachable, timed out, migration lock not acquired
    REFUSED = 7  # confirmation declined, production guard
    MIGRATION_FAILED = 8  # a revision raised while upgrade/downgrade/stamp ran it
    INTERNAL = 70  # a bug: an exception nobody anticipated (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C / SIGINT: the running statement cancelled, rolled back
    TERMINATED = 143  # SIGTERM (containers, Kubernetes, CI): handled like SIGINT
    HANGUP = 129  # SIGHUP (the terminal closed): handled like SIGINT


# AppException carries an HTTP status; the CLI answers with the matching exit code.
HTTP_STATUS_EXIT = {
    400: ExitCode.INVALID,
    401: ExitCode.REFUSED,
    403: ExitCode.REFUSED,
    404: ExitCode.NOT_FOUND,
    409: ExitCode.CONFLICT,
    422: ExitCode.INVALID,
    503: ExitCode.UNAVAILABLE,
    504: ExitCode.UNAVAILABLE,
}


def exit_code_for_status(status: int) -> ExitCode:
    if status in HTTP_STATUS_EXIT:
        return HTTP_STATUS_EXIT[status]
    if 400 <= status < 500:
        return ExitCode.INVALID
    return ExitCode.INTERNAL
