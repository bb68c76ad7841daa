"""beta c1000000

Revision ID: c1000000
Revises: b0000000
Create Date: 2026-11-25 14:03:00.000000

"""

from alembic import op

revision = "c1000000"
down_revision = "b0000000"
branch_labels = ("beta",)
depends_on = None


def upgrade() -> None:
    op.execute("INSERT INTO markers (revision) VALUES ('c1000000')")


def downgrade() -> None:
    op.execute("DELETE FROM markers WHERE revision = 'c1000000'")
