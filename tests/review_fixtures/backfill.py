"""backfill: one UPDATE of every row, and an index dropped without CONCURRENTLY (squawk)

Revision ID: fire_backfill
Revises: r0accounts
"""

from alembic import op

revision = "fire_backfill"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE accounts SET name = email")
    op.drop_index("ix_accounts_email", table_name="accounts")


def downgrade() -> None:
    op.create_index("ix_accounts_email", "accounts", ["email"], unique=True)
