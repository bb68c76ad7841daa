"""backfill progress: manage_backfills, one row per declared backfill

Revision ID: b4c1f11a0001
Revises: db42a41cb893
Create Date: 2026-11-30 15:30:00.000000

Bookkeeping for `manage migrate backfill` (db/backfill/progress.py): a new table only, so SQLite
rebuilds nothing. Not a model: drift checks skip it (db/revision_checksums.include_name).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b4c1f11a0001'
down_revision: str | Sequence[str] | None = 'db42a41cb893'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'manage_backfills',
        sa.Column('name', sa.String(100), nullable=False),
        sa.Column('table_name', sa.String(128), nullable=False),
        sa.Column('key_column', sa.String(128), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('last_key', sa.Text(), nullable=True),
        sa.Column('rows_done', sa.BigInteger(), nullable=False),
        sa.Column('batches_done', sa.Integer(), nullable=False),
        sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_manage_backfills')),
    )


def downgrade() -> None:
    op.drop_table('manage_backfills')
