"""The command line of the database's own client (psql, sqlite3) for a URL.

The password goes into the child's environment (PGPASSWORD), never its argv: argv is
visible to every user of the machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import make_url

from db.engine import APPLICATION_NAME


@dataclass
class ClientCommand:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # never show the environment: it may hold a password
        return f"ClientCommand(argv={self.argv!r}, env=<{', '.join(sorted(self.env))}>)"


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
