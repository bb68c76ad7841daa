"""new objects (written for manage's issue 13 follow-up, not from a public project)

Revision ID: b2c3d4e5f6a1
Revises: a1b2c3d4e5f6
"""
import sqlalchemy as sa
from alembic import op

revision = "b2c3d4e5f6a1"
down_revision = "a1b2c3d4e5f6"


def upgrade():
    op.create_table("plans_tmp", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("INSERT INTO plans_tmp (id) SELECT id FROM plans")
    op.execute("UPDATE plans_tmp SET id = id + 1")
    op.rename_table("plans_tmp", "plans_work")
    op.drop_table("plans_work")
    op.add_column("plans", sa.Column("active", sa.Boolean(), nullable=True))
    op.alter_column("plans", "active", existing_type=sa.Boolean(), nullable=False)


def downgrade():
    op.drop_column("plans", "active")
