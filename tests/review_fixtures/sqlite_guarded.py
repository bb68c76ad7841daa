"""stays quiet on sqlite-incompatible: the PostgreSQL-only constraint behind a dialect guard

Revision ID: quiet_sqlite_guarded
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "quiet_sqlite_guarded"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("plan", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint(
            "ck_accounts_email", "accounts", "email <> ''", postgresql_not_valid=True
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ck_accounts_email", "accounts", type_="check")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("plan")
