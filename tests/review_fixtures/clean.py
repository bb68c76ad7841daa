"""clean: a nullable column, undone by its downgrade (zero findings)

Revision ID: clean_nickname
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "clean_nickname"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("nickname", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("accounts", "nickname")
