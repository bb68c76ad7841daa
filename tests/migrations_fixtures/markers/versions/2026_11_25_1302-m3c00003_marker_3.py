"""marker 3

Revision ID: m3c00003
Revises: m2b00002
Create Date: 2026-11-25 13:02:00.000000

"""

from alembic import op

revision = "m3c00003"
down_revision = "m2b00002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # applied_by: the PostgreSQL backend pid, so a test can tell which process ran it.
    by = "pg_backend_pid()::text" if op.get_context().dialect.name == "postgresql" else "NULL"
    op.execute(f"INSERT INTO markers (revision, applied_by) VALUES ('m3c00003', {by})")


def downgrade() -> None:
    op.execute("DELETE FROM markers WHERE revision = 'm3c00003'")
