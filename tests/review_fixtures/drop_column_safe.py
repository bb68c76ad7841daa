"""drop-column safe: only the downgrade drops (its own column)

Revision ID: safe_drop_column
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "safe_drop_column"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("nickname", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("accounts", "nickname")
