"""a second revision on the base: with clean.py, two heads

Revision ID: second_head
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "second_head"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("city", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("accounts", "city")
