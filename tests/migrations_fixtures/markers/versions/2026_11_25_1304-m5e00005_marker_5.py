"""marker 5

Revision ID: m5e00005
Revises: m4d00004
Create Date: 2026-11-25 13:04:00.000000

"""

from alembic import op

revision = "m5e00005"
down_revision = "m4d00004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # applied_by: the PostgreSQL backend pid, so a test can tell which process ran it.
    by = "pg_backend_pid()::text" if op.get_context().dialect.name == "postgresql" else "NULL"
    op.execute(f"INSERT INTO markers (revision, applied_by) VALUES ('m5e00005', {by})")


def downgrade() -> None:
    op.execute("DELETE FROM markers WHERE revision = 'm5e00005'")
