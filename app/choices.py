"""Plain enums shared by services and the CLI (no imports: the CLI loads them for --help)."""

from enum import StrEnum


class IfExists(StrEnum):
    """What creating a superuser does when the email is taken."""

    error = "error"  # refuse: 409 / exit 4
    skip = "skip"  # leave the existing account as it is
    update = "update"  # promote, reactivate and set the new password
