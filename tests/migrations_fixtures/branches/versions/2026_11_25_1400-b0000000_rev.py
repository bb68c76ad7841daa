"""branch point b0000000

Revision ID: b0000000
Revises: -
Create Date: 2026-11-25 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "b0000000"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("markers", sa.Column("revision", sa.String(32), primary_key=True))
    op.execute("INSERT INTO markers (revision) VALUES ('b0000000')")


def downgrade() -> None:
    op.drop_table("markers")
