"""The one confirmation and production guard every destructive command goes through.

- Outside production: `--yes` skips the question; on a terminal the user is asked (y/N);
  with no terminal and no `--yes` the action is refused (exit 7), never a hang.
- ENVIRONMENT=production: `--yes` is always required. On a terminal the user must also type
  the name of what is destroyed (the database name, the email, the role names; a list may be
  typed with commas or spaces); with no terminal `--force` stands in for typing.
  Some actions (`db reset`) are refused in production whatever the flags.
"""

from __future__ import annotations

import sys

import typer

from app.errors import AppException, ErrorCode
from manage.output import one_line


def _refuse(message: str) -> AppException:
    return AppException(403, message, ErrorCode.REFUSED)


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _words(text: str) -> list[str]:
    """ "a, b" and "a,b" and " a  b " type the same list of names."""
    return text.replace(",", " ").split()


def confirm_destructive(
    *,
    action: str,
    yes: bool,
    production: bool,
    force: bool = False,
    type_to_confirm: str | None = None,
    never_in_production: bool = False,
) -> None:
    """Return when `action` may go ahead; raise AppException(403, REFUSED) otherwise.

    `action` reads as a phrase: "delete user ops@example.com". `type_to_confirm` is what a
    production terminal must type (without it, production refuses). `never_in_production`
    refuses outright in production, whatever the flags (e.g. `db reset`).
    """
    if production and never_in_production:
        raise _refuse(f"refusing to {action} in production")
    if production:
        if not yes:
            raise _refuse(f"refusing to {action} in production without --yes")
        if not _interactive():
            if not force:
                raise _refuse(f"refusing to {action} in production without a terminal: add --force")
            return
        if type_to_confirm is None:
            # Every typed confirmation names what it destroys; a bare "yes" is no check.
            raise _refuse(f"refusing to {action} in production: nothing to type to confirm it")
        try:
            typed = typer.prompt(
                one_line(f"Production: this will {action}. Type {type_to_confirm!r} to confirm"),
                default="",
            )
        except typer.Abort:  # Ctrl-C / Ctrl-D: interrupted (130), not click's "Aborted" (1)
            raise KeyboardInterrupt from None
        if _words(typed) != _words(type_to_confirm):
            raise _refuse(
                one_line(f"confirmation did not match {type_to_confirm!r}; did not {action}")
            )
        return
    if yes:
        return
    if not _interactive():
        raise _refuse(f"refusing to {action} without --yes (no terminal to ask on)")
    try:
        agreed = typer.confirm(one_line(f"{action[0].upper()}{action[1:]}?"), default=False)
    except typer.Abort:
        raise KeyboardInterrupt from None
    if not agreed:
        raise _refuse(f"declined; did not {action}")
