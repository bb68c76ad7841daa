"""an events table next to accounts (for ranking lock findings by table size)

Revision ID: ranked_base
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "ranked_base"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("events")
