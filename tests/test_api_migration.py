"""The revisions behind token binding: every account gets a stamp, SQLite ids are never
reused, and the SQLite rebuild of `users` keeps every membership (user_roles)."""

from __future__ import annotations

import pytest

from tests.api_support import insert_user
from tests.conftest import fetch, run_async

BEFORE = "7fea82b9ef4f"  # the revision before the security stamp


def migrate(url: str, revision: str, *, down: bool = False) -> None:
    from db import migrations
    from db.config import DatabaseSettings
    from db.engine import create_engine

    async def go() -> None:
        engine = create_engine(DatabaseSettings(database_url=url), pooled=False)
        try:
            if down:
                await migrations.downgrade(engine, revision)
            else:
                await migrations.upgrade(engine, revision)
        finally:
            await engine.dispose()

    run_async(go())


def fill_old_schema(url: str) -> None:
    fetch(
        url,
        "INSERT INTO users (email, hashed_password, created_at, updated_at) VALUES "
        "('a@example.com', 'h', '2020-01-01', '2020-01-01'), "
        "('b@example.com', 'h', '2020-01-01', '2020-01-01'), "
        "('c@example.com', 'h', '2020-01-01', '2020-01-01')",
    )
    fetch(
        url,
        "INSERT INTO roles (name, description, created_at) VALUES "
        "('reader', '', '2020-01-01'), ('writer', '', '2020-01-01')",
    )
    fetch(
        url,
        "INSERT INTO user_roles (user_id, role_id) SELECT u.id, r.id FROM users u, roles r "
        "WHERE u.email <> 'c@example.com' OR r.name = 'writer'",
    )


MEMBERSHIPS = (
    "SELECT u.email, r.name FROM user_roles ur JOIN users u ON u.id = ur.user_id "
    "JOIN roles r ON r.id = ur.role_id ORDER BY u.email, r.name"
)


def test_upgrading_keeps_every_membership_and_stamps_every_account(blank_db_url) -> None:
    migrate(blank_db_url, BEFORE)
    fill_old_schema(blank_db_url)
    memberships = fetch(blank_db_url, MEMBERSHIPS)
    assert len(memberships) == 5

    migrate(blank_db_url, "head")

    assert fetch(blank_db_url, MEMBERSHIPS) == memberships
    stamps = [s for (s,) in fetch(blank_db_url, "SELECT security_stamp FROM users")]
    assert len(set(stamps)) == 3 and all(len(s) == 32 for s in stamps)


def test_downgrading_and_upgrading_again_keeps_every_membership(blank_db_url) -> None:
    migrate(blank_db_url, BEFORE)
    fill_old_schema(blank_db_url)
    memberships = fetch(blank_db_url, MEMBERSHIPS)
    migrate(blank_db_url, "head")

    migrate(blank_db_url, BEFORE, down=True)
    assert fetch(blank_db_url, MEMBERSHIPS) == memberships
    migrate(blank_db_url, "head")
    assert fetch(blank_db_url, MEMBERSHIPS) == memberships


def test_a_deleted_users_id_is_never_handed_out_again(cli, db_url) -> None:
    insert_user(db_url, "root@example.com", superuser=True)
    last = insert_user(db_url, "last@example.com")
    assert cli(["users", "delete", "last@example.com", "--yes"], db=db_url).exit_code == 0

    assert insert_user(db_url, "next@example.com") > last


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_users_table_is_autoincrement(db_url) -> None:
    [(sql,)] = fetch(db_url, "SELECT sql FROM sqlite_master WHERE name = 'users'")
    assert "AUTOINCREMENT" in sql


def test_ids_can_come_back_after_a_downgrade_but_the_old_token_stays_dead(
    cli, blank_db_url, monkeypatch
) -> None:
    """docs/api.md: ids are not a token's identity; the stamp is. On SQLite, downgrading below
    db42a41cb893 rebuilds `users` without AUTOINCREMENT (sqlite_sequence forgets), so an id
    can be handed out again after the upgrade; the earlier token must still be refused."""
    from tests.test_api import build_settings, call_api, login

    migrate(blank_db_url, "head")
    insert_user(blank_db_url, "root@example.com", superuser=True)
    old_id = insert_user(blank_db_url, "old@example.com", superuser=True)
    settings = build_settings(monkeypatch, blank_db_url)

    async def token(client) -> str:
        return (await login(client, "old@example.com")).json()["access_token"]

    old_token = call_api(settings, token)
    assert cli(["users", "delete", "old@example.com", "--yes"], db=blank_db_url).exit_code == 0

    migrate(blank_db_url, "cdf31a12a376", down=True)
    migrate(blank_db_url, "head")
    new_id = insert_user(blank_db_url, "new@example.com", superuser=True)

    async def me(client) -> object:
        return await client.get("/users/me", headers={"Authorization": f"Bearer {old_token}"})

    response = call_api(settings, me)
    assert response.status_code == 401
    assert "new@example.com" not in response.text
    if blank_db_url.startswith("sqlite"):
        assert new_id == old_id  # the id did come back: the doc must not promise otherwise
    else:
        assert new_id > old_id  # the sequence survives a downgrade and upgrade
