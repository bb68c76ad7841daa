"""fires set-not-null

Revision ID: fire_set_not_null
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "fire_set_not_null"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("accounts", "name", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    op.alter_column("accounts", "name", existing_type=sa.Text(), nullable=True)
