"""rename-in-disguise safe: alter_column new_column_name

Revision ID: safe_rename_column
Revises: r0accounts
"""

from alembic import op

revision = "safe_rename_column"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("accounts", "name", new_column_name="full_name")


def downgrade() -> None:
    op.alter_column("accounts", "full_name", new_column_name="name")
