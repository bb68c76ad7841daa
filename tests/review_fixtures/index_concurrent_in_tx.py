"""fires concurrent-index-in-transaction

Revision ID: fire_index_in_tx
Revises: r0accounts
"""

from alembic import op

revision = "fire_index_in_tx"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_accounts_name", "accounts", ["name"], postgresql_concurrently=True)


def downgrade() -> None:
    op.drop_index("ix_accounts_name", table_name="accounts")
