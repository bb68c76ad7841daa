"""seed history fingerprint: what a seed run left behind, so an unchanged rerun can be recognised

Revision ID: c5e7a1f20001
Revises: b4c1f11a0002
Create Date: 2026-12-01 09:00:00.000000

`seed_history.fingerprint` (JSON text, app/services/seed_fingerprint.py): the format, the code
and Alembic revision that applied the file, the tables its sections wrote and reference with a
digest of each as the run left them, and the rows it gave per model. `manage seed run` skips
reading a file's rows when all of it still holds. Nullable: rows written before this revision
(and runs that cannot be recognised later) have none, and their next run reads every row as
before. A new nullable column only: SQLite rebuilds nothing.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c5e7a1f20001'
down_revision: str | Sequence[str] | None = 'b4c1f11a0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('seed_history', sa.Column('fingerprint', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('seed_history') as batch:
        batch.drop_column('fingerprint')
