"""Offline SQL: what upgrade, downgrade or stamp would run, as text, without a database.

Alembic's offline mode (`--sql`) renders each revision's operations for a dialect; env.py
takes the dialect from the `sqlalchemy.url` main option we set here.
"""

from __future__ import annotations

import io
from typing import Literal

from alembic import command

from db.errors import BadRevision, InvalidArgument
from db.migrations import alembic_config, alembic_errors

Action = Literal["upgrade", "downgrade", "stamp"]
Dialect = Literal["postgresql", "sqlite"]

# A URL with only a driver: offline mode needs a dialect, never a connection.
DIALECT_URLS: dict[str, str] = {
    "postgresql": "postgresql+asyncpg://",
    "sqlite": "sqlite+aiosqlite://",
}


def offline_sql(action: Action, revision: str, *, dialect: str) -> str:
    """The SQL `action REVISION` would run on `dialect`; REVISION may be a FROM:TO range."""
    if dialect not in DIALECT_URLS:
        raise InvalidArgument(f"unknown dialect {dialect!r}: use postgresql or sqlite")
    if action == "downgrade" and ":" not in revision:
        raise BadRevision("offline downgrade needs a FROM:TO range (e.g. head:-1)")
    buffer = io.StringIO()
    cfg = alembic_config(output_buffer=buffer)
    cfg.set_main_option("sqlalchemy.url", DIALECT_URLS[dialect])
    runner = {"upgrade": command.upgrade, "downgrade": command.downgrade, "stamp": command.stamp}
    with alembic_errors():
        runner[action](cfg, revision, sql=True)
    return buffer.getvalue()


def range_from(current: list[str], revision: str) -> str:
    """REVISION as a FROM:TO range starting at the database's current revision.

    A REVISION that already is a range is kept; a database at base starts from base.
    """
    if ":" in revision:
        return revision
    if len(current) > 1:
        raise BadRevision(
            f"the database has several heads ({', '.join(current)}): give an explicit FROM:TO"
        )
    return f"{current[0]}:{revision}" if current else revision
