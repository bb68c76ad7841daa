"""require: total NOT NULL once bf_total is complete

Revision ID: bf000003
Revises: bf000002
Create Date: 2026-11-30 15:02:00.000000

"""

import sqlalchemy as sa
from alembic import op

from db.backfill import require_backfill

revision = "bf000003"
down_revision = "bf000002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    require_backfill("bf_total")
    with op.batch_alter_table("bf_items") as batch:
        batch.alter_column("total", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("bf_items") as batch:
        batch.alter_column("total", existing_type=sa.Integer(), nullable=True)
