"""Offline SQL: what upgrade, downgrade or stamp would run, as text, without a database.

Alembic's offline mode (`--sql`) renders each revision's operations for a dialect; env.py
takes the dialect from the `sqlalchemy.url` main option we set here.
"""

from __future__ import annotations

import io
import sys
from contextlib import redirect_stdout
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError

from db.errors import BadRevision, DatabaseLayerError, InvalidArgument
from db.migration_failures import failing_step, reason
from db.migrations import alembic_config, alembic_errors, script_directory

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
    script_directory(cfg)  # a broken revision file: exit 5 naming it, before anything runs
    runner = {"upgrade": command.upgrade, "downgrade": command.downgrade, "stamp": command.stamp}
    with alembic_errors():  # Alembic's errors outside any revision: a bad revision, exit 5
        try:
            # print() in a revision goes to stderr: stdout carries the SQL (or --json).
            with redirect_stdout(sys.stderr):
                runner[action](cfg, revision, sql=True)
        except DatabaseLayerError:
            raise
        except Exception as exc:
            failed = _offline_failure(exc, cfg)
            if failed is None:
                raise
            raise failed from exc
    return buffer.getvalue()


def _in_batch(exc: BaseException) -> bool:
    """Raised while Alembic's batch mode ran (alembic.operations.batch, batch_alter_table)."""
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "batch_alter_table" or "alembic/operations/batch" in code.co_filename:
            return True
        tb = tb.tb_next
    return False


def _offline_failure(exc: Exception, cfg: Config) -> InvalidArgument | None:
    """Offline mode has no database: a revision that reads one (`op.get_bind().execute(...)`
    returns None there, an Inspector raises, SQLite batch mode needs to reflect) cannot render.
    Exit 5, naming the revision; None when the error came from outside any revision."""
    revision, _ = failing_step(exc, script_directory(cfg))
    if revision is None and isinstance(exc, CommandError | RevisionError):
        return None
    which = f"revision {revision}" if revision else "a revision"
    if _in_batch(exc):
        return InvalidArgument(
            f"{which} cannot be rendered as offline SQL: its batch mode (batch_alter_table) "
            "rebuilds the table from the database's own definition (reflection), which "
            "offline mode does not have; pass `copy_from=` a Table to batch_alter_table, "
            "or render for postgresql (`manage migrate sql RANGE --dialect postgresql`)",
            code="OFFLINE_READ",
        )
    return InvalidArgument(
        f"{which} cannot be rendered as offline SQL ({reason(exc)}); if it reads the database "
        "(op.get_bind().execute, an Inspector), guard the read with "
        "`if not context.is_offline_mode():` (from alembic import context)",
        code="OFFLINE_READ",
    )


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
