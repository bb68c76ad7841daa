"""set-not-null safe: relaxing to NULL (batch mode)

Revision ID: safe_set_not_null
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "safe_set_not_null"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.alter_column("email", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.alter_column("email", existing_type=sa.Text(), nullable=False)
