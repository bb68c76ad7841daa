"""fires index-not-concurrent

Revision ID: fire_index_plain
Revises: r0accounts
"""

from alembic import op

revision = "fire_index_plain"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_accounts_name", "accounts", ["name"])


def downgrade() -> None:
    op.drop_index("ix_accounts_name", table_name="accounts")
