"""user security stamp

Revision ID: cdf31a12a376
Revises: 7fea82b9ef4f
Create Date: 2026-11-30 14:16:12.477162

Adds users.security_stamp (copied into every API access token, compared on each request) and
gives every existing account a random one. Plain ADD/DROP COLUMN, never batch mode: on SQLite a
batch rebuild of `users` (copy, DROP, rename) would cascade-delete user_roles.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = 'cdf31a12a376'
down_revision: str | Sequence[str] | None = '7fea82b9ef4f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 32 random hex characters per row, like app.models.user.new_security_stamp().
_RANDOM_STAMP = {
    'sqlite': 'lower(hex(randomblob(16)))',
    'postgresql': "replace(gen_random_uuid()::text, '-', '')",
}


def upgrade() -> None:
    op.add_column(
        'users',
        sa.Column('security_stamp', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    )
    stamp = _RANDOM_STAMP.get(op.get_context().dialect.name)
    if stamp is not None:
        # Tokens issued before this revision carry no stamp and stop working: log in again.
        # One statement, in the DDL transaction, is deliberate: the column is new, so no
        # reader waits on these rows, and every existing user needs a stamp before the API
        # checks one.
        op.execute(f'UPDATE users SET security_stamp = {stamp}')  # manage: allow backfill new column, set once for existing users


def downgrade() -> None:
    op.drop_column('users', 'security_stamp')
