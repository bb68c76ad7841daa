"""Who is acting, for the audit log: $MANAGE_ACTOR, else the OS user at this host."""

import getpass
import os
import socket


def current_actor() -> str:
    explicit = os.environ.get("MANAGE_ACTOR", "").strip()
    if explicit:
        return explicit[:255]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}@{socket.gethostname()}"[:255]
