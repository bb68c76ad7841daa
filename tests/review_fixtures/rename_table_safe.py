"""rename-in-disguise safe: op.rename_table

Revision ID: safe_rename_table
Revises: r0accounts
"""

from alembic import op

revision = "safe_rename_table"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.rename_table("accounts", "members")


def downgrade() -> None:
    op.rename_table("members", "accounts")
