"""alpha a2000000

Revision ID: a2000000
Revises: a1000000
Create Date: 2026-11-25 14:02:00.000000

"""

from alembic import op

revision = "a2000000"
down_revision = "a1000000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("INSERT INTO markers (revision) VALUES ('a2000000')")


def downgrade() -> None:
    op.execute("DELETE FROM markers WHERE revision = 'a2000000'")
