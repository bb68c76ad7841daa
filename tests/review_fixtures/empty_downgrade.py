"""fires empty-downgrade (pass)

Revision ID: fire_empty_pass
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "fire_empty_pass"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("nickname", sa.Text(), nullable=True))


def downgrade() -> None:
    pass
