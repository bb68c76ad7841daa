"""declare: add total and label, backfilled later

Revision ID: bf000002
Revises: bf000001
Create Date: 2026-11-30 15:01:00.000000

Both batch bodies count how often they touched each row (hits, label_hits): a batch applied
twice shows up as 2.
"""

import os
import time

import sqlalchemy as sa
from alembic import op

from db.backfill import Backfill

revision = "bf000002"
down_revision = "bf000001"
branch_labels = None
depends_on = None

fill_total = Backfill(
    name="bf_total",
    table="bf_items",
    key="id",
    sql="UPDATE bf_items SET total = qty * 2, hits = hits + 1 WHERE id BETWEEN :lo AND :hi",
    batch_size=10,
)


def _label(connection, lo, hi) -> int:
    result = connection.execute(
        sa.text(
            "UPDATE bf_items SET label = 'item-' || code, label_hits = label_hits + 1 "
            "WHERE code BETWEEN :lo AND :hi"
        ),
        {"lo": lo, "hi": hi},
    )
    # Inside the batch's transaction, after its update: a signal here must lose the batch whole.
    time.sleep(float(os.environ.get("BF_TEST_SLEEP", "0")))
    return result.rowcount


# Walks a text key (code, unique) with a Python function.
fill_label = Backfill(name="bf_label", table="bf_items", key="code", function=_label, batch_size=5)


def upgrade() -> None:
    op.add_column("bf_items", sa.Column("total", sa.Integer(), nullable=True))
    op.add_column("bf_items", sa.Column("label", sa.String(40), nullable=True))
    fill_total.declare()
    fill_label.declare()


def downgrade() -> None:
    fill_label.forget()
    fill_total.forget()
    with op.batch_alter_table("bf_items") as batch:
        batch.drop_column("label")
        batch.drop_column("total")
