"""base: the accounts table every fixture revises

Revision ID: r0accounts
Revises: -
"""

import sqlalchemy as sa
from alembic import op

revision = "r0accounts"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("legacy", sa.Text(), nullable=True),
    )
    # A new table is empty: an index on it needs no CONCURRENTLY.
    op.create_index("ix_accounts_email", "accounts", ["email"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_accounts_email", table_name="accounts")
    op.drop_table("accounts")
