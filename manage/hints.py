"""The one line after an error that says what to do next, only where there is a next step.

Keyed by error_code; a message that already names its next step (the schema is missing:
"run `manage migrate upgrade` first") gets no second one. Never printed with --json (a
script reads error_code) and never for a usage error (that hint is cli.py's)."""

from __future__ import annotations

HINTS: dict[str, str] = {
    "USER_NOT_FOUND": "`manage users list --search TEXT` finds accounts",
    "ROLE_NOT_FOUND": "`manage roles list` shows the roles",
    "SEED_NOT_FOUND": "`manage seed list` shows the seed sets",
    "MIGRATION_LOCKED": "run it again once the other migration ends, or wait with --lock-timeout",
    "NOT_AT_HEAD": "run `manage migrate upgrade` first",
    "BACKFILL_PENDING": "run `manage migrate backfill --all`, then this command again",
    "PENDING_MIGRATIONS": "run `manage migrate upgrade`",
}


def hint_for(error_code: str | None, message: str) -> str | None:
    """The next step for a failure with `error_code` and `message`, or None."""
    hint = HINTS.get(error_code or "")
    if hint is None or "`manage " in message:
        return None
    return hint
