"""merge 55e910 and 65b2ee

Revision ID: 0cf47cfa673f
Revises: ('55e910a74826', '65b2eefd8247')
Create Date: 2018-08-31 13:23:54.913168

"""

# revision identifiers, used by Alembic.
revision = '0cf47cfa673f'
down_revision = ('55e910a74826', '65b2eefd8247')

from alembic import op
import sqlalchemy as sa


def upgrade():
    pass


def downgrade():
    pass
