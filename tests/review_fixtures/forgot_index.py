"""roundtrip: the downgrade forgets the index

Revision ID: fire_forgot_index
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "fire_forgot_index"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("nickname", sa.Text(), nullable=True))
    # The point here is the downgrade, not the lock:
    op.create_index(
        "ix_accounts_name", "accounts", ["name"]
    )  # manage: allow index-not-concurrent test


def downgrade() -> None:
    op.drop_column("accounts", "nickname")
