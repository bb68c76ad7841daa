"""fires rename-in-disguise: drop name + add full_name, same type

Revision ID: fire_rename_column
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "fire_rename_column"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("accounts", "name")
    op.add_column("accounts", sa.Column("full_name", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("accounts", "full_name")
    op.add_column("accounts", sa.Column("name", sa.Text(), nullable=True))
