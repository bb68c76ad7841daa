"""fires index-not-concurrent on two tables: the larger one is listed first

Revision ID: ranked_locks
Revises: ranked_base
"""

from alembic import op

revision = "ranked_locks"
down_revision = "ranked_base"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_accounts_name", "accounts", ["name"])
    op.create_index("ix_events_kind", "events", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_events_kind", table_name="events")
    op.drop_index("ix_accounts_name", table_name="accounts")
