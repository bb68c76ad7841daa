"""index rules safe: CONCURRENTLY inside autocommit_block()

Revision ID: safe_index
Revises: r0accounts
"""

from alembic import op

revision = "safe_index"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index("ix_accounts_name", "accounts", ["name"], postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_accounts_name", table_name="accounts", postgresql_concurrently=True)
