"""A token lives only as long as its subject: each security-relevant change ends it.

Every token carries the user's security stamp; these tests take a token, make one change
through the CLI (as ops would), and call the API with the old token and with a new one.
SQLite and PostgreSQL, in-process through httpx's ASGI transport.
"""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest

from tests.api_support import insert_user
from tests.conftest import fetch
from tests.roles_support import PASSWORD, audit_rows, create_user
from tests.test_api import SECRET, build_settings, call_api, login

NEW_PASSWORD = "An0ther-Strong-Passw0rd"


def token_for(settings: Any, email: str, password: str = PASSWORD) -> str:
    async def go(client: httpx.AsyncClient) -> str:
        response = await login(client, email, password)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    return call_api(settings, go)


def get_with(settings: Any, token: str, path: str = "/users/me") -> httpx.Response:
    async def go(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(path, headers={"Authorization": f"Bearer {token}"})

    return call_api(settings, go)


def ok(outcome: Any) -> None:
    assert outcome.exit_code == 0, outcome.stderr


# Each change made through the CLI, and whether the account can log in again afterwards.
CHANGES = {
    "set-password": (["users", "set-password", "ann@example.com", "--password-stdin"], True),
    "deactivate": (["users", "deactivate", "ann@example.com"], False),
    "demote": (["users", "demote", "ann@example.com"], True),
    "promote": (["users", "promote", "ann@example.com"], True),
    "logout-everywhere": (["users", "logout-everywhere", "ann@example.com"], True),
    "role grant": (["roles", "grant", "reader", "ann@example.com"], True),
    "role revoke": (["roles", "revoke", "staff", "ann@example.com"], True),
    "role deleted": (["roles", "delete", "staff", "--yes", "--force"], True),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_security_change_made_with_the_cli_ends_the_earlier_token(
    cli, db_url, monkeypatch, change
) -> None:
    insert_user(db_url, "root@example.com", superuser=True)
    insert_user(db_url, "ann@example.com", superuser=change == "demote")
    ok(cli(["roles", "create", "reader", "-p", "roles:read"], db=db_url))
    ok(cli(["roles", "create", "staff", "-p", "roles:read"], db=db_url))
    ok(cli(["roles", "grant", "staff", "ann@example.com"], db=db_url))
    settings = build_settings(monkeypatch, db_url)
    old_token = token_for(settings, "ann@example.com")
    assert get_with(settings, old_token).status_code == 200

    args, can_log_in = CHANGES[change]
    ok(cli(args, input=NEW_PASSWORD + "\n", db=db_url))

    refused = get_with(settings, old_token)
    assert refused.status_code == 401
    assert refused.json()["success"] is False
    assert refused.headers["www-authenticate"] == "Bearer"
    if can_log_in:
        password = NEW_PASSWORD if change == "set-password" else PASSWORD
        fresh = token_for(settings, "ann@example.com", password)
        assert get_with(settings, fresh).json()["data"]["email"] == "ann@example.com"


def test_logout_everywhere_is_audited_and_unknown_email_is_exit_3(manage_proc, db_url) -> None:
    insert_user(db_url, "ann@example.com")
    [(before,)] = fetch(db_url, "SELECT security_stamp FROM users")

    done = manage_proc(["users", "logout-everywhere", "Ann@Example.com", "--json"], db=db_url)
    missing = manage_proc(["users", "logout-everywhere", "nobody@example.com"], db=db_url)

    assert done.exit_code == 0, done.stderr
    assert '"email": "ann@example.com"' in done.stdout
    [(after,)] = fetch(db_url, "SELECT security_stamp FROM users")
    assert after != before and len(after) == 32
    assert audit_rows(db_url, "user.logout") == [("user.logout_everywhere", "ann@example.com")]
    assert missing.exit_code == 3
    assert missing.stderr.splitlines() == [
        "error: user nobody@example.com not found",
        "`manage users list --search TEXT` finds accounts",  # its hint (manage/hints.py)
    ]


def test_a_deleted_users_token_does_not_open_the_account_that_gets_its_id(
    cli, db_url, monkeypatch
) -> None:
    insert_user(db_url, "root@example.com", superuser=True)
    insert_user(db_url, "gone@example.com")
    settings = build_settings(monkeypatch, db_url)
    old_token = token_for(settings, "gone@example.com")
    [(old_id,)] = fetch(db_url, "SELECT id FROM users WHERE email = 'gone@example.com'")

    ok(cli(["users", "delete", "gone@example.com", "--yes"], db=db_url))
    create_user(db_url, "new-admin@example.com", superuser=True)
    [(new_id,)] = fetch(db_url, "SELECT id FROM users WHERE email = 'new-admin@example.com'")
    assert new_id != old_id  # ids are never handed out again (AUTOINCREMENT, SERIAL)...
    # ...but they are after `db reset`, a downgrade/upgrade, or a restore: make it so here.
    fetch(db_url, "UPDATE users SET id = :old WHERE id = :new", {"old": old_id, "new": new_id})

    assert get_with(settings, old_token, "/admin/users").status_code == 401
    assert get_with(settings, old_token).status_code == 401
    admin = token_for(settings, "new-admin@example.com")
    assert get_with(settings, admin, "/admin/users").status_code == 200


def test_a_token_from_before_db_reset_is_refused(manage_proc, pg_db_url, monkeypatch) -> None:
    insert_user(pg_db_url, "root@example.com", superuser=True)
    settings = build_settings(monkeypatch, pg_db_url)
    old_token = token_for(settings, "root@example.com")

    reset = manage_proc(["db", "reset", "--yes"], db=pg_db_url)
    assert reset.exit_code == 0, reset.stderr
    create_user(pg_db_url, "root@example.com", superuser=True)
    assert fetch(pg_db_url, "SELECT id FROM users") == [(1,)]

    assert get_with(settings, old_token).status_code == 401


def forge(claims: dict[str, Any]) -> str:
    return jwt.encode({"exp": 4102444800, "type": "access", **claims}, SECRET, algorithm="HS256")


STAMP = "0" * 32


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "1" * 40, "stamp": STAMP},
        {"sub": "9" * 19, "stamp": STAMP},
        {"sub": str(2**31), "stamp": STAMP},
        {"sub": "\u0661", "stamp": STAMP},  # ARABIC-INDIC DIGIT ONE
        {"sub": "\u00b2", "stamp": STAMP},  # SUPERSCRIPT TWO: isdigit() but not int()
        {"sub": "\uff11", "stamp": STAMP},  # FULLWIDTH DIGIT ONE
        {"sub": "-1", "stamp": STAMP},
        {"sub": "0", "stamp": STAMP},
        {"sub": " 1", "stamp": STAMP},
        {"sub": "1\n", "stamp": STAMP},
        {"sub": "", "stamp": STAMP},
        {"sub": 1, "stamp": STAMP},
        {"sub": ["1"], "stamp": STAMP},
        {"sub": "1"},
        {"sub": "1", "stamp": 0},
        {"sub": "1", "stamp": None},
        {"sub": "1", "stamp": "x" * 10_000},
        {"sub": "1", "stamp": STAMP, "type": "refresh"},
    ],
    ids=lambda c: repr(c)[:40],
)
def test_a_token_with_a_bad_subject_or_stamp_is_401_not_500(db_url, monkeypatch, claims) -> None:
    insert_user(db_url, "root@example.com", superuser=True)
    response = get_with(build_settings(monkeypatch, db_url), forge(claims))
    assert response.status_code == 401
    assert response.json()["error_code"] == "NOT_AUTHENTICATED"


def test_a_token_with_the_right_id_but_another_stamp_is_401(db_url, monkeypatch) -> None:
    insert_user(db_url, "root@example.com", superuser=True)
    [(user_id, stamp)] = fetch(db_url, "SELECT id, security_stamp FROM users")
    settings = build_settings(monkeypatch, db_url)
    other = "f" * 32 if stamp != "f" * 32 else "e" * 32
    assert get_with(settings, forge({"sub": str(user_id), "stamp": stamp})).status_code == 200
    refused = get_with(settings, forge({"sub": str(user_id), "stamp": other}))
    assert refused.status_code == 401
    assert refused.json()["message"] == "token revoked"


def test_a_user_without_a_stamp_gets_one_at_login_and_no_token_before(db_url, monkeypatch) -> None:
    # Rows written by raw SQL (the seed fast path, old rows) may have no stamp.
    insert_user(db_url, "ann@example.com")
    fetch(db_url, "UPDATE users SET security_stamp = NULL")
    [(user_id,)] = fetch(db_url, "SELECT id FROM users")
    settings = build_settings(monkeypatch, db_url)
    assert get_with(settings, forge({"sub": str(user_id), "stamp": STAMP})).status_code == 401

    token = token_for(settings, "ann@example.com")

    [(stamp,)] = fetch(db_url, "SELECT security_stamp FROM users")
    assert stamp is not None and len(stamp) == 32
    assert get_with(settings, token).status_code == 200


def test_a_seed_run_that_changes_an_account_ends_its_tokens(
    cli, db_url, monkeypatch, tmp_path
) -> None:
    from tests.api_support import password_hash

    seed_file = tmp_path / "seeds" / "dev" / "users.yaml"
    seed_file.parent.mkdir(parents=True)

    def seed_run(*, superuser: bool) -> None:
        seed_file.write_text(
            "users:\n"
            "  - email: ann@example.com\n"
            f"    is_superuser: {'true' if superuser else 'false'}\n"
            f"    password_hash: '{password_hash()}'\n"
        )
        ok(cli(["seed", "run", "dev"], db=db_url))

    insert_user(db_url, "root@example.com", superuser=True)
    seed_run(superuser=True)
    [(stamp,)] = fetch(db_url, "SELECT security_stamp FROM users WHERE email = 'ann@example.com'")
    assert stamp is not None and len(stamp) == 32  # a seeded account has a stamp from the start
    settings = build_settings(monkeypatch, db_url)
    token = token_for(settings, "ann@example.com")
    assert get_with(settings, token, "/admin/users").status_code == 200

    seed_run(superuser=False)

    assert get_with(settings, token, "/admin/users").status_code == 401
