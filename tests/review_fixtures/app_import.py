"""fires app-import

Revision ID: fire_app_import
Revises: r0accounts
"""

import sqlalchemy as sa
from alembic import op

from app.models import User

revision = "fire_app_import"
down_revision = "r0accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    accounts = sa.table("accounts", sa.column("name", sa.Text()))
    op.execute(accounts.update().values(name=User.__tablename__))


def downgrade() -> None:
    pass  # manage: allow empty-downgrade data only
