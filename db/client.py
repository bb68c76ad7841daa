"""The command line of the database's own client (psql, sqlite3) for a URL.

The password goes into the child's environment (PGPASSWORD), never its argv: argv is
visible to every user of the machine. The child inherits only the variables a terminal
client needs (CHILD_ENV_NAMES, CHILD_ENV_PREFIXES): never MANAGE_PASSWORD,
FIRST_SUPERUSER_PASSWORD, SECRET_KEY, DATABASE_URL or anything else of ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url

from db.engine import APPLICATION_NAME


@dataclass
class ClientCommand:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # never show the environment: it may hold a password
        return f"ClientCommand(argv={self.argv!r}, env=<{', '.join(sorted(self.env))}>)"

    def environment(self, inherited: Mapping[str, str]) -> dict[str, str]:
        """The child's whole environment: the allowed part of `inherited`, then self.env."""
        return {**child_environment(inherited), **self.env}


# What psql and sqlite3 read (psql's ENVIRONMENT section: PG*, PSQL_*, PAGER, EDITOR, ...),
# plus what any terminal program needs. Everything else stays in this process.
CHILD_ENV_NAMES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "TZ",
        "TERM", "TERMINFO", "COLORTERM", "COLUMNS", "LINES", "NO_COLOR",
        "LANG", "LANGUAGE", "PAGER", "LESS", "EDITOR", "VISUAL",
    }
)  # fmt: skip
CHILD_ENV_PREFIXES = ("LC_", "PG", "PSQL_", "SQLITE_")


def child_environment(inherited: Mapping[str, str]) -> dict[str, str]:
    """The variables of `inherited` a database client may see (see CHILD_ENV_NAMES)."""
    return {
        name: value
        for name, value in inherited.items()
        if name in CHILD_ENV_NAMES or name.startswith(CHILD_ENV_PREFIXES)
    }


def client_command(url: str, extra: list[str] | None = None) -> ClientCommand:
    parsed = make_url(url)
    extra = list(extra or [])
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ":memory:"
        return ClientCommand(argv=["sqlite3", path, *extra])
    argv = ["psql"]
    if parsed.host:
        argv += ["--host", parsed.host]
    if parsed.port:
        argv += ["--port", str(parsed.port)]
    if parsed.username:
        argv += ["--username", parsed.username]
    if parsed.database:
        argv += ["--dbname", parsed.database]
    env = {"PGAPPNAME": f"{APPLICATION_NAME}-shell"}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    sslmode = parsed.query.get("sslmode") or parsed.query.get("ssl")
    if isinstance(sslmode, str):
        env["PGSSLMODE"] = sslmode
    return ClientCommand(argv=[*argv, *extra], env=env)
