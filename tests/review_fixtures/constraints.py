"""fires constraint-not-valid (a foreign key and a check)

Revision ID: fire_constraints
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "fire_constraints"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("referrer_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key("fk_accounts_referrer", "accounts", "accounts", ["referrer_id"], ["id"])
    op.create_check_constraint("ck_accounts_email", "accounts", "email <> ''")


def downgrade() -> None:
    op.drop_constraint("ck_accounts_email", "accounts", type_="check")
    op.drop_constraint("fk_accounts_referrer", "accounts", type_="foreignkey")
    op.drop_column("accounts", "referrer_id")
