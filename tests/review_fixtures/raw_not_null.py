"""squawk: a raw ADD COLUMN ... NOT NULL

Revision ID: fire_raw_sql
Revises: r0accounts
"""

from alembic import op

revision = "fire_raw_sql"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE accounts ADD COLUMN age integer NOT NULL")


def downgrade() -> None:
    op.drop_column("accounts", "age")
