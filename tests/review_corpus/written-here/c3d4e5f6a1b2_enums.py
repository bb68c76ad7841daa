"""enums (written for manage's issue 13 follow-up, not from a public project)

Revision ID: c3d4e5f6a1b2
Revises: b2c3d4e5f6a1
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "c3d4e5f6a1b2"
down_revision = "b2c3d4e5f6a1"

mood = postgresql.ENUM("calm", "busy", name="mood")
status = sa.Enum("open", "closed", name="status")


def upgrade():
    mood.create(op.get_bind())
    op.add_column("plans", sa.Column("mood", mood, nullable=True))
    op.add_column("plans", sa.Column("status", status, nullable=True))
    kind = sa.Enum("a", "b", name="kind")
    op.alter_column("plans", "kind", type_=kind, existing_type=sa.String(10))


def downgrade():
    op.alter_column("plans", "kind", type_=sa.String(10))
    op.drop_column("plans", "status")
    op.drop_column("plans", "mood")
    mood.drop(op.get_bind())
