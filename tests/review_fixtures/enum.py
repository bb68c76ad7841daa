"""fires enum-change

Revision ID: fire_enum
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "fire_enum"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("status", sa.Enum("active", "banned", name="account_status"), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("accounts", "status")
