"""Logins: throttled per account and per address (429, audited lockouts), legacy bcrypt
hashes of long passwords, and the same database work for known and unknown emails."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api_support import insert_user
from tests.conftest import fetch, run_async
from tests.roles_support import PASSWORD, audit_rows
from tests.test_api import build_settings, call_api, login

WRONG = "Wrong-password-123"


def throttled_settings(monkeypatch, db_url, **env: str) -> Any:
    limits = {
        "LOGIN_MAX_FAILURES": "3",
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "5",
        "LOGIN_LOCKOUT_SECONDS": "600",
    }
    return build_settings(monkeypatch, db_url, **{**limits, **env})


def call_from(settings: Any, body: Any, addresses: tuple[str, ...] = ("203.0.113.7",)) -> Any:
    """Run `body(*clients)` against one app, each client connecting from its own address."""
    from app.api.main import create_app

    async def go() -> Any:
        app = create_app(settings)
        clients = [
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                base_url="http://api",
            )
            for address in addresses
        ]
        try:
            return await body(*clients)
        finally:
            for client in clients:
                await client.aclose()
            await app.state.engine.dispose()

    return run_async(go())


@pytest.mark.parametrize("email", ["ann@example.com", "nobody@example.com"])
def test_wrong_passwords_lock_the_account_with_429_and_retry_after(
    db_url, monkeypatch, email
) -> None:
    insert_user(db_url, "ann@example.com")

    async def scenario(client: httpx.AsyncClient) -> list[httpx.Response]:
        wrong = [await login(client, email.upper(), WRONG) for _ in range(3)]
        return [*wrong, await login(client, email, PASSWORD), await login(client, email, WRONG)]

    *wrong, right_while_locked, wrong_while_locked = call_from(
        throttled_settings(monkeypatch, db_url), scenario
    )

    assert [r.status_code for r in wrong] == [401, 401, 401]
    for response in (right_while_locked, wrong_while_locked):
        assert response.status_code == 429
        assert 590 <= int(response.headers["retry-after"]) <= 600
        body = response.json()
        assert body["error_code"] == "TOO_MANY_ATTEMPTS"
        assert body["success"] is False and body["data"] is None
        assert PASSWORD not in response.text
    # An unknown email locks exactly like a known one: a 429 tells nothing about existence.
    assert audit_rows(db_url, "auth.") == [("auth.lockout", email)]
    [(actor, details)] = fetch(
        db_url, "SELECT actor, details FROM audit_log WHERE action LIKE 'auth.%'"
    )
    assert actor == "api:203.0.113.7"
    assert "account" in str(details) and WRONG not in str(details)


def test_one_address_trying_many_accounts_is_locked_but_others_are_not(db_url, monkeypatch) -> None:
    insert_user(db_url, "ann@example.com")

    async def scenario(attacker: httpx.AsyncClient, other: httpx.AsyncClient) -> dict:
        sprayed = [await login(attacker, f"user{i}@example.com", WRONG) for i in range(5)]
        return {
            "sprayed": sprayed,
            "attacker next": await login(attacker, "ann@example.com", PASSWORD),
            "other address": await login(other, "ann@example.com", PASSWORD),
        }

    r = call_from(
        throttled_settings(monkeypatch, db_url),
        scenario,
        addresses=("203.0.113.7", "198.51.100.9"),
    )

    assert [x.status_code for x in r["sprayed"]] == [401] * 5
    assert r["attacker next"].status_code == 429
    assert r["other address"].status_code == 200
    assert ("auth.lockout", "203.0.113.7") in audit_rows(db_url, "auth.")


def test_a_successful_login_resets_the_account_count(db_url, monkeypatch) -> None:
    insert_user(db_url, "ann@example.com")

    async def scenario(client: httpx.AsyncClient) -> list[int]:
        codes = []
        for password in (WRONG, WRONG, PASSWORD, WRONG, WRONG, PASSWORD):
            codes.append((await login(client, "ann@example.com", password)).status_code)
        return codes

    assert call_from(throttled_settings(monkeypatch, db_url), scenario) == [
        401,
        401,
        200,
        401,
        401,
        200,
    ]


def test_the_lockout_ends_after_its_window(db_url, monkeypatch) -> None:
    import asyncio

    insert_user(db_url, "ann@example.com")
    settings = throttled_settings(monkeypatch, db_url, LOGIN_LOCKOUT_SECONDS="1")

    async def scenario(client: httpx.AsyncClient) -> list[int]:
        codes = [(await login(client, "ann@example.com", WRONG)).status_code for _ in range(3)]
        codes.append((await login(client, "ann@example.com")).status_code)
        await asyncio.sleep(1.2)
        codes.append((await login(client, "ann@example.com")).status_code)
        return codes

    assert call_from(settings, scenario) == [401, 401, 401, 429, 200]


def test_throttle_counts_only_failures_inside_the_window() -> None:
    from app.services.login_throttle import LoginThrottle

    now = [0.0]
    throttle = LoginThrottle(
        max_failures=3, max_failures_per_address=100, window=60, lockout=300, clock=lambda: now[0]
    )
    for t in (0, 30, 61):  # the first one has left the window when the third comes
        now[0] = t
        assert throttle.failed(account="a", address="x") == []
    now[0] = 62
    [lockout] = throttle.failed(account="a", address="x")
    assert (lockout.scope, lockout.key, lockout.seconds) == ("account", "a", 300)
    assert throttle.retry_after(account="a", address="y") == 300
    assert throttle.retry_after(account="b", address="x") is None
    now[0] = 362
    assert throttle.retry_after(account="a", address="x") is None


def test_throttle_memory_is_bounded() -> None:
    from app.services.login_throttle import LoginThrottle

    throttle = LoginThrottle(
        max_failures=3, max_failures_per_address=10**6, window=60, lockout=60, max_keys=100
    )
    for i in range(1000):
        throttle.failed(account=f"user{i}@example.com", address="x")
    assert len(throttle._entries) == 100


def test_a_legacy_bcrypt_hash_of_a_long_password_logs_in_and_is_rehashed(
    db_url, monkeypatch
) -> None:
    import bcrypt

    from app.security import verify_password

    # 84 UTF-8 bytes: older bcrypt/passlib hashed only the first 72 (cut inside an "é").
    long_password = "Corr3ct-Horse-" + "é" * 35
    assert len(long_password.encode()) > 72
    legacy = bcrypt.hashpw(long_password.encode()[:72], bcrypt.gensalt(rounds=4)).decode()
    insert_user(db_url, "old@example.com", hashed=legacy)

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await login(client, "old@example.com", long_password)

    assert call_api(build_settings(monkeypatch, db_url), scenario).status_code == 200
    [(hashed,)] = fetch(db_url, "SELECT hashed_password FROM users")
    assert hashed.startswith("$argon2id$")
    assert verify_password(long_password, hashed)
    # argon2 keeps the whole password: the 72-byte prefix alone no longer matches.
    prefix = long_password.encode()[:72].decode(errors="ignore")
    assert not verify_password(prefix, hashed)
    assert audit_rows(db_url, "user.password_rehash") == [
        ("user.password_rehash", "old@example.com")
    ]


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_every_bcrypt_variant_checks_the_first_72_bytes(prefix) -> None:
    import bcrypt

    from app.security import verify_password

    password = "x" * 72 + "tail-that-was-ignored"
    legacy = bcrypt.hashpw(b"x" * 72, bcrypt.gensalt(rounds=4)).decode()
    legacy = prefix + legacy[4:]
    assert verify_password(password, legacy)
    assert not verify_password("y" * 80, legacy)


def test_known_and_unknown_emails_run_the_same_statements(db_url, monkeypatch) -> None:
    from sqlalchemy import event

    from app.api.main import create_app

    insert_user(db_url, "ann@example.com")
    settings = build_settings(monkeypatch, db_url)

    async def statements_for(email: str) -> list[str]:
        app = create_app(settings)
        seen: list[str] = []
        event.listen(
            app.state.engine.sync_engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_: seen.append(statement),
        )
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                assert (await login(client, email, WRONG)).status_code == 401
        finally:
            await app.state.engine.dispose()
        return seen

    known = run_async(statements_for("ann@example.com"))
    unknown = run_async(statements_for("nobody@example.com"))
    assert known == unknown
    assert len([s for s in known if "FROM users" in s]) == 1
    assert not any("roles" in s for s in known)


def test_the_unknown_email_path_verifies_against_a_real_hash() -> None:
    from app.security import verify_password
    from app.services.auth import dummy_hash

    assert dummy_hash().startswith("$argon2id$")
    assert not verify_password(PASSWORD, dummy_hash())
