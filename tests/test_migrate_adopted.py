"""Adopting an existing Alembic history (MIGRATION_NAMING_CONVENTION=false).

An adopted chain creates constraints without a name and later drops them by PostgreSQL's
default name (`orders_user_id_fkey`). Our MetaData naming convention would name them
`fk_orders_user_id_users` instead, so the later revision fails on every new database; with
the convention turned off for running revisions, the chain applies as it always did.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import fetch
from tests.migrations_fixtures.extra_revisions import shipped_copy

CREATE_ORDERS = """
def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
    )


def downgrade() -> None:
    op.drop_table("orders")
"""

DROP_DEFAULT_NAMED_FK = """
def upgrade() -> None:
    op.drop_constraint("orders_user_id_fkey", "orders", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key("orders_user_id_fkey", "orders", "users", ["user_id"], ["id"])
"""


@pytest.fixture
def adopted(tmp_path) -> dict[str, str]:
    copy = shipped_copy(tmp_path, ("o1000001", CREATE_ORDERS), ("o1000002", DROP_DEFAULT_NAMED_FK))
    return {"MANAGE_MIGRATIONS_DIR": str(copy)}


def _foreign_keys(url: str) -> list[str]:
    rows = fetch(
        url,
        "SELECT conname FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'f'",
    )
    return [row[0] for row in rows]


@pytest.mark.postgres_only
def test_the_naming_convention_breaks_an_adopted_chain(cli, postgres_available, scratch, adopted):
    url = scratch.blank("postgresql")
    outcome = cli(["migrate", "upgrade"], db=url, env=adopted)
    assert outcome.exit_code == 8, outcome.stderr
    assert "revision o1000002" in outcome.stderr and "orders_user_id_fkey" in outcome.stderr
    assert _foreign_keys(url) == ["fk_orders_user_id_users"]


@pytest.mark.postgres_only
def test_an_adopted_chain_applies_with_the_convention_off(
    cli, postgres_available, scratch, adopted
) -> None:
    url = scratch.blank("postgresql")
    env = {**adopted, "MIGRATION_NAMING_CONVENTION": "false"}
    outcome = cli(["migrate", "upgrade", "o1000001"], db=url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert _foreign_keys(url) == ["orders_user_id_fkey"]  # PostgreSQL's own default name
    outcome = cli(["migrate", "upgrade"], db=url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert _foreign_keys(url) == []
    outcome = cli(["migrate", "downgrade", "-1", "--yes"], db=url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert _foreign_keys(url) == ["orders_user_id_fkey"]
    # Autogenerate still compares with the models: the shipped tables show no drift.
    check = cli(["migrate", "check", "--json"], db=url, env=env)
    tables = {d["table"] for d in json.loads(check.stdout)["data"]["differences"]}
    assert tables == {"orders"}  # only the adopted table the models do not declare
