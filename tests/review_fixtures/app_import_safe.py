"""app-import safe: sa.table() in the migration

Revision ID: safe_app_import
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "safe_app_import"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    accounts = sa.table("accounts", sa.column("name", sa.Text()))
    op.execute(accounts.update().where(accounts.c.name.is_(None)).values(name="anonymous"))


def downgrade() -> None:
    pass  # manage: allow empty-downgrade data only
