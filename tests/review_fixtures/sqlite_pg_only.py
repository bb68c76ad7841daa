"""fires sqlite-incompatible: a constraint added with ALTER, which SQLite cannot do

Revision ID: fire_sqlite_pg_only
Revises: r0accounts
"""

from alembic import op

revision = "fire_sqlite_pg_only"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_check_constraint(
        "ck_accounts_email", "accounts", "email <> ''", postgresql_not_valid=True
    )


def downgrade() -> None:
    op.drop_constraint("ck_accounts_email", "accounts", type_="check")
