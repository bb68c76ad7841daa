"""backfill: a full-table UPDATE inside the DDL transaction

Revision ID: fire_data_update
Revises: r0accounts
"""

from alembic import op

revision = "fire_data_update"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE accounts SET email = lower(email)")


def downgrade() -> None:
    pass  # manage: allow empty-downgrade lowercasing cannot be undone
