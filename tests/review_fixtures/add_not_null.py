"""fires add-not-null-column

Revision ID: fire_add_not_null
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "fire_add_not_null"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("plan", sa.Text(), nullable=False))


def downgrade() -> None:
    op.drop_column("accounts", "plan")
