"""Revision files added on top of a copy of the shipped chain, the way a developer adds them.

`shipped_copy(tmp_path, *revisions)` copies migrations/ into tmp_path and writes each
(revision id, body) after the shipped head, chained in order; the body is the module's code
below the header. Point MANAGE_MIGRATIONS_DIR at the returned path.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from tests.conftest import REPO


def _shipped_head() -> str:
    """The head of the shipped chain (migrations/versions), read from the files themselves so
    the fixtures follow the chain as revisions are added to it."""
    from alembic.script import ScriptDirectory

    (head,) = ScriptDirectory(str(REPO / "migrations")).get_heads()
    return head


SHIPPED_HEAD = _shipped_head()
HEADER = '''"""{message}

Revision ID: {revision}
Revises: {down}
Create Date: 2026-11-29 10:{minute:02d}:00.000000

"""
import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None

'''


def shipped_copy(tmp_path: Path, *revisions: tuple[str, str], down: str = SHIPPED_HEAD) -> Path:
    copy = tmp_path / "migrations_copy"
    if not copy.exists():
        shutil.copytree(REPO / "migrations", copy, ignore=shutil.ignore_patterns("__pycache__"))
    for minute, (revision, body) in enumerate(revisions):
        add_revision(copy, revision, body, down=down, minute=minute)
        down = revision
    return copy


def add_revision(
    copy: Path, revision: str, body: str, *, down: str | tuple | None, minute: int = 0
) -> Path:
    path = copy / "versions" / f"2026_11_29_10{minute:02d}-{revision}_{revision}.py"
    header = HEADER.format(message=revision, revision=revision, down=down, minute=minute)
    path.write_text(header + textwrap.dedent(body).lstrip())
    return path


# Children of users with the other ON DELETE behaviours: SET NULL and none at all.
CHILDREN = """
def upgrade() -> None:
    op.create_table(
        "user_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("users.id", name="fk_user_notes_user_id_users",
                                ondelete="SET NULL"), nullable=True),
    )
    op.create_table(
        "user_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("users.id", name="fk_user_tokens_user_id_users"),
                  nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_tokens")
    op.drop_table("user_notes")
"""

# What `migrate make` writes on SQLite for a wider users.full_name: a table rebuild.
WIDEN_FULL_NAME = """
def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("full_name", existing_type=sa.String(length=255),
                              type_=sa.String(length=400), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("full_name", existing_type=sa.String(length=400),
                              type_=sa.String(length=255), existing_nullable=True)
"""

# Rebuilding roles: role_permissions and user_roles hang off it.
WIDEN_ROLE_DESCRIPTION = """
def upgrade() -> None:
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.alter_column("description", existing_type=sa.String(length=500),
                              type_=sa.String(length=900), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.alter_column("description", existing_type=sa.String(length=900),
                              type_=sa.String(length=500), existing_nullable=False)
"""
