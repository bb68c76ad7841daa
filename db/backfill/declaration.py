"""The declaration a revision file makes: which table, which key, what each batch does.

    fill_nickname = Backfill(
        name="users_nickname",
        table="users",
        key="id",
        sql="UPDATE users SET nickname = lower(email) WHERE id BETWEEN :lo AND :hi",
        batch_size=1000,
    )

    def upgrade() -> None:
        op.add_column("users", sa.Column("nickname", sa.String(320), nullable=True))
        fill_nickname.declare()  # records the backfill as pending; updates no row

Declaring works the same under plain `alembic upgrade`: `.declare()` writes the progress row on
the revision's own connection (`op.get_bind()`).
"""

from __future__ import annotations

import hashlib
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from db.errors import InvalidArgument

# fn(connection, lo, hi) -> rows changed (None: count the keys in the range). `connection` is
# a synchronous sqlalchemy.engine.Connection inside the batch's transaction: never commit it.
BatchFunction = Callable[[Any, Any, Any], int | None]

_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_LO = re.compile(r":lo\b")
_HI = re.compile(r":hi\b")


@dataclass(frozen=True)
class Backfill:
    """A data migration to run in batches of `batch_size` keys, outside the DDL transaction.

    name: unique across the migration chain; what `manage migrate backfill NAME` and
        `require_backfill(NAME)` refer to.
    table, key: the table and the column walked in ascending order: the primary key or any
        indexed, unique, ordered, non-null column (integer, text, date/time, UUID). Rows whose
        key is NULL are never visited.
    sql: one statement run per batch with `:lo` and `:hi` bound to the batch's first and last
        key (`... WHERE id BETWEEN :lo AND :hi`); or
    function: `fn(connection, lo, hi)` called per batch instead (exactly one of the two).
    batch_size: keys per batch (default 1000); `--batch-size` overrides it.
    pause: seconds to sleep between batches (default 0); `--pause` overrides it.
    """

    name: str
    table: str
    key: str
    sql: str | None = None
    function: BatchFunction | None = None
    batch_size: int = 1000
    pause: float = 0.0

    def __post_init__(self) -> None:
        where = f"backfill {self.name!r}"
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise InvalidArgument(
                f"{where}: the name must be 1-100 letters, digits, '_', '.' or '-'"
            )
        for label, value in (("table", self.table), ("key", self.key)):
            if not isinstance(value, str) or not _IDENTIFIER.match(value):
                raise InvalidArgument(f"{where}: {label} must be a plain SQL identifier")
        if (self.sql is None) == (self.function is None):
            raise InvalidArgument(f"{where}: give exactly one of sql= or function=")
        if self.sql is not None and not (_LO.search(self.sql) and _HI.search(self.sql)):
            raise InvalidArgument(f"{where}: sql must use both :lo and :hi (the batch's key range)")
        if self.function is not None and not callable(self.function):
            raise InvalidArgument(f"{where}: function must be callable as fn(connection, lo, hi)")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise InvalidArgument(f"{where}: batch_size must be a positive integer")
        if not isinstance(self.pause, int | float) or self.pause < 0:
            raise InvalidArgument(f"{where}: pause must be >= 0 seconds")

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex) of what this backfill walks and does: table, key, and the batch SQL
        (whitespace runs folded) or the function's own source (blank lines and indentation
        folded; a callable without source: its module and qualified name). batch_size and pause
        are left out: they are tunables, and a cursor stays valid whatever they are. Recorded in
        manage_backfills.fingerprint; a cursor is only resumed under the declaration that made it.
        """
        if self.sql is not None:
            work = "sql:" + " ".join(self.sql.split())
        else:
            work = "function:" + _source(self.function)
        return hashlib.sha256(f"{self.table}\n{self.key}\n{work}".encode()).hexdigest()

    @property
    def work(self) -> str:
        """'sql' or 'function': what a changed fingerprint with the same table and key means."""
        return "sql" if self.sql is not None else "function"

    def declare(self) -> None:
        """Inside `upgrade()`: record this backfill as pending (no row of `table` changes).
        Offline (`--sql`): the INSERT of its progress row, unless one exists."""
        from alembic import context, op

        from db.backfill import progress

        if context.is_offline_mode():
            op.execute(progress.declare_statement(self))
            return
        progress.declare(op.get_bind(), self)

    def forget(self) -> None:
        """Inside `downgrade()`: drop this backfill's progress row."""
        from alembic import context, op

        from db.backfill import progress

        if context.is_offline_mode():
            op.execute(progress.forget_statement(self.name))
            return
        progress.forget(op.get_bind(), self.name)


def _source(function: Any) -> str:
    try:
        text = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        module = getattr(function, "__module__", None) or ""
        return f"{module}.{getattr(function, '__qualname__', type(function).__qualname__)}"
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def require_backfill(name: str) -> None:
    """Inside `upgrade()`: refuse (BackfillPending, exit 7) unless backfill `name` is complete.

    A backfill with nothing left to walk (an empty table on a fresh database) counts as complete
    and is recorded so. Offline (`--sql`) on PostgreSQL the script itself refuses unless the
    progress row says complete (run `manage migrate backfill NAME` first, which records an empty
    table's backfill complete at once); on SQLite offline SQL cannot check it.
    """
    from alembic import context, op

    from db.backfill import progress

    if context.is_offline_mode():
        # No database to ask: PostgreSQL's script checks when it runs (a DO block that raises
        # unless the row is complete); SQLite has no such statement, so its script cannot.
        if context.get_context().dialect.name == "postgresql":
            op.execute(progress.require_statement_postgresql(name))
        return
    progress.require_complete(op.get_bind(), name)
