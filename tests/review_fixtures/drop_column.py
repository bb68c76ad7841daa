"""fires drop-column

Revision ID: fire_drop_column
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "fire_drop_column"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("accounts", "legacy")


def downgrade() -> None:
    op.add_column("accounts", sa.Column("legacy", sa.Text(), nullable=True))
