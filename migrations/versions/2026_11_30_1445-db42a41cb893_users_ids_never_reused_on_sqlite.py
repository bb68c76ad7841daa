"""users ids never reused on sqlite

Revision ID: db42a41cb893
Revises: cdf31a12a376
Create Date: 2026-11-30 14:45:00.000000

SQLite hands the highest id out again after a delete unless the table is AUTOINCREMENT, and a
table can only become AUTOINCREMENT by being rebuilt: create, copy, DROP users, rename. With
foreign keys on, DROP users cascades into user_roles, so the memberships are kept aside first and
put back after the rename (whatever the foreign_keys setting of the connection). PostgreSQL's
SERIAL sequence never reuses ids: nothing to do there.
"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = 'db42a41cb893'
down_revision: str | Sequence[str] | None = 'cdf31a12a376'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    'id, email, full_name, hashed_password, is_active, is_superuser, created_at, updated_at, '
    'security_stamp'
)


def _rebuild_users(autoincrement: bool) -> None:
    if op.get_context().dialect.name != 'sqlite':
        return
    key = 'PRIMARY KEY AUTOINCREMENT' if autoincrement else 'PRIMARY KEY'
    op.execute('CREATE TABLE _user_roles_kept AS SELECT user_id, role_id FROM user_roles')
    op.execute(
        f'''CREATE TABLE _users_rebuilt (
        id INTEGER NOT NULL CONSTRAINT pk_users {key},
        email VARCHAR(320) NOT NULL,
        full_name VARCHAR(255),
        hashed_password VARCHAR(255) NOT NULL,
        is_active BOOLEAN DEFAULT 1 NOT NULL,
        is_superuser BOOLEAN DEFAULT 0 NOT NULL,
        created_at DATETIME NOT NULL,
        updated_at DATETIME NOT NULL,
        security_stamp VARCHAR(64),
        CONSTRAINT ck_users_email_lowercase CHECK (email = lower(email)),
        CONSTRAINT uq_users_email UNIQUE (email)
        )'''
    )
    op.execute(f'INSERT INTO _users_rebuilt ({COLUMNS}) SELECT {COLUMNS} FROM users')
    op.execute('DROP TABLE users')  # foreign keys on: this empties user_roles
    op.execute('ALTER TABLE _users_rebuilt RENAME TO users')
    op.execute(
        'INSERT INTO user_roles (user_id, role_id) SELECT k.user_id, k.role_id '
        'FROM _user_roles_kept k WHERE NOT EXISTS (SELECT 1 FROM user_roles r '
        'WHERE r.user_id = k.user_id AND r.role_id = k.role_id)'
    )
    op.execute('DROP TABLE _user_roles_kept')


def upgrade() -> None:
    _rebuild_users(autoincrement=True)


def downgrade() -> None:
    _rebuild_users(autoincrement=False)
