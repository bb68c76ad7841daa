"""marker 2

Revision ID: m2b00002
Revises: m1a00001
Create Date: 2026-11-25 13:01:00.000000

"""

from alembic import op

revision = "m2b00002"
down_revision = "m1a00001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # applied_by: the PostgreSQL backend pid, so a test can tell which process ran it.
    by = "pg_backend_pid()::text" if op.get_context().dialect.name == "postgresql" else "NULL"
    op.execute(f"INSERT INTO markers (revision, applied_by) VALUES ('m2b00002', {by})")


def downgrade() -> None:
    op.execute("DELETE FROM markers WHERE revision = 'm2b00002'")
