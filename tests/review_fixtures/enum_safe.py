"""enum-change safe: a text column

Revision ID: safe_enum
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "safe_enum"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("status", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("accounts", "status")
