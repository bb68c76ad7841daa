"""drop-table allowed with a reason: quiet (listed with --all-findings)

Revision ID: safe_drop_table
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "safe_drop_table"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_accounts_email", table_name="accounts")
    op.drop_table("accounts")  # manage: allow drop-table retired in release 41, backed up


def downgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("legacy", sa.Text(), nullable=True),
    )
    op.create_index("ix_accounts_email", "accounts", ["email"], unique=True)
