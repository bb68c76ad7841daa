"""Who is acting, for the audit log: $MANAGE_ACTOR, else the OS user at this host."""

import getpass
import os
import socket


def current_actor() -> str:
    """The actor recorded in the audit log. Raises manage.errors.UsageError (exit 5) when
    $MANAGE_ACTOR is not UTF-8 text (lone surrogates, PEP 383)."""
    explicit = os.environ.get("MANAGE_ACTOR", "").strip()
    try:
        explicit.encode("utf-8")
    except UnicodeEncodeError:
        from manage.errors import UsageError

        raise UsageError(
            "invalid setting MANAGE_ACTOR: not UTF-8 text (it holds bytes of another encoding)"
        ) from None
    if explicit:
        return explicit[:255]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}@{socket.gethostname()}"[:255]
