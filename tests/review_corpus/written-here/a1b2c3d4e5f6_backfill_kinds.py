"""backfill kinds (written for manage's issue 13 follow-up, not from a public project)

Revision ID: a1b2c3d4e5f6
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "a1b2c3d4e5f6"
down_revision = None


def upgrade():
    op.execute("UPDATE plans SET price = 10 WHERE id = 5")
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE plans SET tier = :tier"), {"tier": "basic"})
    op.execute(
        "WITH old AS (SELECT id FROM plans WHERE legacy) "
        "UPDATE plans SET tier = 'legacy' FROM old WHERE plans.id = old.id"
    )
    op.execute("TRUNCATE TABLE plan_cache")
    op.execute(sa.text("DELETE FROM plans WHERE id = :id"))


def downgrade():
    pass
