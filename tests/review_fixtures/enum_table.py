"""fires enum-change: a new table with an enum column (its type outlives drop_table)

Revision ID: fire_enum_table
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "fire_enum_table"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "moods",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("mood", sa.Enum("happy", "sad", name="mood"), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("moods")
