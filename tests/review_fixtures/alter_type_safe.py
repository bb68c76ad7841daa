"""alter-column-type safe: only a server default changes

Revision ID: safe_alter_type
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "safe_alter_type"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("accounts", "name", existing_type=sa.Text(), server_default="anonymous")


def downgrade() -> None:
    op.alter_column("accounts", "name", existing_type=sa.Text(), server_default=None)
