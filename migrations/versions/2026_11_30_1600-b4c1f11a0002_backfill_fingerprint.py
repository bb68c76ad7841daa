"""backfill fingerprint: manage_backfills.fingerprint, the declaration a cursor belongs to

Revision ID: b4c1f11a0002
Revises: b4c1f11a0001
Create Date: 2026-11-30 16:00:00.000000

A backfill's cursor (last_key) only means something for the declaration that produced it: the
same table, key and batch work. `fingerprint` is a SHA-256 of those
(db/backfill/declaration.Backfill.fingerprint); `manage migrate backfill` refuses to resume from
a cursor whose declaration has since been edited. Nullable: rows declared before this revision
adopt the fingerprint of their declaration at their next run. A new nullable column only: SQLite
rebuilds nothing.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b4c1f11a0002'
down_revision: str | Sequence[str] | None = 'b4c1f11a0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('manage_backfills', sa.Column('fingerprint', sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('manage_backfills') as batch:
        batch.drop_column('fingerprint')
