"""backfill safe: the same update declared as a batched backfill

Revision ID: safe_data_update
Revises: r0accounts
"""

from db.backfill import Backfill

revision = "safe_data_update"
down_revision = "r0accounts"
branch_labels = None
depends_on = None

lower_email = Backfill(
    name="accounts_lower_email",
    table="accounts",
    key="id",
    sql="UPDATE accounts SET email = lower(email) WHERE id BETWEEN :lo AND :hi",
)


def upgrade() -> None:
    lower_email.declare()


def downgrade() -> None:
    lower_email.forget()
