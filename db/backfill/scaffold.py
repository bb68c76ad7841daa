"""`manage migrate make -m MSG --empty --backfill TABLE`: an empty revision with a declared
backfill to fill in (the worked example in docs/migrations.md, "Backfills")."""

from __future__ import annotations

import re
from pathlib import Path

from db.errors import InvalidArgument

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_UPGRADE = re.compile(r"def upgrade\(\) -> None:\n    pass\n")
_DOWNGRADE = re.compile(r"def downgrade\(\) -> None:\n    pass\n")

_DECLARATION = """
# Filled later by `manage migrate backfill {name}`, batch by batch, outside this revision's
# transaction. Edit the SQL (or pass function=fn(connection, lo, hi) instead); keep :lo and :hi.
{variable} = Backfill(
    name="{name}",
    table="{table}",
    key="id",  # the primary key, or any indexed, unique, ordered, non-null column
    sql="UPDATE {table} SET new_column = old_column "
    "WHERE id BETWEEN :lo AND :hi AND new_column IS NULL",
    batch_size=1000,
    pause=0.0,  # seconds between batches
)
"""
_UPGRADE_BODY = """def upgrade() -> None:
    # op.add_column("{table}", sa.Column("new_column", ..., nullable=True))
    {variable}.declare()  # records the backfill as pending; changes no row
    # A later revision that needs every row filled (e.g. SET NOT NULL) calls
    # db.backfill.require_backfill("{name}") first.
"""
_DOWNGRADE_BODY = """def downgrade() -> None:
    {variable}.forget()
    # op.drop_column("{table}", "new_column")
"""


def check_table(table: str) -> str:
    if not _IDENTIFIER.match(table):
        raise InvalidArgument(f"--backfill {table!r}: expected a table name")
    return table


def add_backfill(path: str, *, table: str, revision: str) -> None:
    """Rewrite the freshly written empty revision at `path` to declare a backfill on `table`."""
    name = f"{table}_{revision}"
    variable = f"backfill_{table}".lower()
    values = {"name": name, "table": table, "variable": variable}
    source = Path(path).read_text(encoding="utf-8")
    if not (_UPGRADE.search(source) and _DOWNGRADE.search(source)):
        raise InvalidArgument(f"{path}: not an empty revision; cannot add a backfill to it")
    anchor = "from alembic import op\n"
    source = source.replace(anchor, f"{anchor}\nfrom db.backfill import Backfill\n", 1)
    upgrade = _UPGRADE.search(source)
    assert upgrade is not None
    source = (
        source[: upgrade.start()]
        + _DECLARATION.lstrip("\n").format(**values)
        + "\n\n"
        + _UPGRADE_BODY.format(**values)
        + source[upgrade.end() :]
    )
    source = _DOWNGRADE.sub(lambda _m: _DOWNGRADE_BODY.format(**values), source, count=1)
    Path(path).write_text(source, encoding="utf-8")
