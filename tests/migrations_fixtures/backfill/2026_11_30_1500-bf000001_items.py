"""items: the table the test backfills walk

Revision ID: bf000001
Revises: c5e7a1f20001
Create Date: 2026-11-30 15:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "bf000001"
down_revision = "c5e7a1f20001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bf_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(20), nullable=False, unique=True),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("label_hits", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("bf_items")
