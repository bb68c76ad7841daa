"""marker 1

Revision ID: m1a00001
Revises: -
Create Date: 2026-11-25 13:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "m1a00001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "markers",
        sa.Column("revision", sa.String(32), primary_key=True),
        sa.Column("applied_by", sa.String(64), nullable=True),
    )
    if op.get_context().dialect.name == "postgresql":
        # Widen the race window: other processes arrive while this one holds the lock.
        op.execute("SELECT pg_sleep(0.3)")
    # applied_by: the PostgreSQL backend pid, so a test can tell which process ran it.
    by = "pg_backend_pid()::text" if op.get_context().dialect.name == "postgresql" else "NULL"
    op.execute(f"INSERT INTO markers (revision, applied_by) VALUES ('m1a00001', {by})")


def downgrade() -> None:
    op.drop_table("markers")
