"""fires missing-down-revision

Revision ID: fire_orphan
Revises: deadbeefcafe
"""

import sqlalchemy as sa
from alembic import op

revision = "fire_orphan"
down_revision = "deadbeefcafe"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("city", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("accounts", "city")
