"""fires alter-column-type (batch mode)

Revision ID: fire_alter_type
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "fire_alter_type"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.alter_column("name", existing_type=sa.Text(), type_=sa.String(200))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.alter_column("name", existing_type=sa.String(200), type_=sa.Text())
