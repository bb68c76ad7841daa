"""Logins that race each other or the CLI (issue 15's attack findings 1-4).

The hashing pool is held busy by a gate so a login is parked between reading the account
and checking the password; the CLI (a real `manage` process) or other logins run meanwhile.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from collections.abc import Callable
from typing import Any

import bcrypt
import httpx
import pytest

from tests.api_support import insert_user
from tests.conftest import fetch
from tests.roles_support import PASSWORD, audit_rows
from tests.test_api import build_settings, call_api, login
from tests.test_api_login import call_from

NEW = "Fresh-Passw0rd-42xyz"
WRONG = "Wrong-password-123"


def gated_settings(monkeypatch, db_url, **env: str) -> Any:
    # One hashing thread, so a gate task in it parks every later password check.
    return build_settings(monkeypatch, db_url, PASSWORD_HASH_WORKERS="1", **env)


class Gate:
    """Hold the one-thread hashing pool busy until opened."""

    def __init__(self) -> None:
        from app.security import hashing_pool

        self.pool = hashing_pool(1)
        self.event = threading.Event()
        self.pool.submit(self.event.wait, 60)

    async def parked(self, count: int) -> None:
        """Wait until `count` password checks are queued behind the gate."""
        for _ in range(2000):
            if self.pool._work_queue.qsize() >= count:  # stdlib internals, test only
                return
            await asyncio.sleep(0.005)
        raise AssertionError("the logins never reached the password check")

    def open(self) -> None:
        self.event.set()


def legacy_bcrypt(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


async def cli_meanwhile(manage_proc: Callable, db_url: str, *args: str, input: str | None = None):
    return await asyncio.to_thread(manage_proc, list(args), input=input, db=db_url)


@pytest.mark.parametrize("account", ["legacy bcrypt", "no stamp", "current"])
def test_a_login_racing_set_password_writes_nothing_and_issues_no_token(
    manage_proc, db_url, monkeypatch, account
) -> None:
    hashed = legacy_bcrypt(PASSWORD) if account == "legacy bcrypt" else None
    user_id = insert_user(db_url, "bob@example.com", hashed=hashed)
    if account == "no stamp":
        fetch(db_url, "UPDATE users SET security_stamp = NULL WHERE id = :i", {"i": user_id})

    async def scenario(client: httpx.AsyncClient) -> dict[str, Any]:
        gate = Gate()
        try:
            racing = asyncio.create_task(login(client, "bob@example.com", PASSWORD))
            await gate.parked(1)
            changed = await cli_meanwhile(
                manage_proc, db_url, "users", "set-password", "bob@example.com",
                "--password-stdin", input=NEW + "\n",
            )  # fmt: skip
        finally:
            gate.open()
        return {
            "cli": changed,
            "racing": await racing,
            "old": await login(client, "bob@example.com", PASSWORD),
            "new": await login(client, "bob@example.com", NEW),
        }

    r = call_api(gated_settings(monkeypatch, db_url), scenario)

    assert r["cli"].exit_code == 0, r["cli"].stderr
    assert r["racing"].status_code == 401
    assert r["racing"].json()["error_code"] == "CREDENTIALS_CHANGED"
    assert "access_token" not in r["racing"].text
    assert r["old"].status_code == 401  # the old password did not come back
    assert r["new"].status_code == 200
    [(stored, stamp)] = fetch(
        db_url, "SELECT hashed_password, security_stamp FROM users WHERE id = :i", {"i": user_id}
    )
    assert stored.startswith("$argon2") and stamp is not None
    assert audit_rows(db_url, "user.password_rehash") == []


ACTIONS = {
    "delete": ("users", "delete", "bob@example.com", "--yes"),
    "deactivate": ("users", "deactivate", "bob@example.com"),
    "logout-everywhere": ("users", "logout-everywhere", "bob@example.com"),
}


@pytest.mark.parametrize("account", ["legacy bcrypt", "current"])
@pytest.mark.parametrize("action", ACTIONS)
def test_an_account_deleted_or_revoked_during_login_gets_a_401_envelope_and_no_token(
    manage_proc, db_url, monkeypatch, action, account
) -> None:
    hashed = legacy_bcrypt(PASSWORD) if account == "legacy bcrypt" else None
    insert_user(db_url, "bob@example.com", hashed=hashed)

    async def scenario(client: httpx.AsyncClient) -> tuple[Any, httpx.Response]:
        gate = Gate()
        try:
            racing = asyncio.create_task(login(client, "bob@example.com", PASSWORD))
            await gate.parked(1)
            done = await cli_meanwhile(manage_proc, db_url, *ACTIONS[action])
        finally:
            gate.open()
        return done, await racing

    done, racing = call_api(gated_settings(monkeypatch, db_url), scenario)

    assert done.exit_code == 0, done.stderr
    assert racing.status_code == 401  # never a 500 text/plain (StaleDataError)
    assert racing.headers["content-type"] == "application/json"
    assert racing.json()["error_code"] == "CREDENTIALS_CHANGED"
    assert "access_token" not in racing.text
    rows = fetch(db_url, "SELECT hashed_password FROM users")
    if action == "delete":
        assert rows == []
    elif hashed is not None:
        assert rows == [(hashed,)]  # the legacy hash was not rewritten behind the CLI's back
    else:
        assert len(rows) == 1


def _limits(monkeypatch, db_url, **env: str) -> Any:
    limits = {
        "LOGIN_MAX_FAILURES": "5",
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "20",
        "LOGIN_LOCKOUT_SECONDS": "600",
    }
    return build_settings(monkeypatch, db_url, **{**limits, **env})


def test_thirty_concurrent_wrong_logins_check_at_most_five_passwords(db_url, monkeypatch) -> None:
    insert_user(db_url, "ann@example.com")

    async def scenario(client: httpx.AsyncClient) -> tuple[list[httpx.Response], httpx.Response]:
        burst = await asyncio.gather(
            *(login(client, "ann@example.com", f"{WRONG}{i}") for i in range(30))
        )
        return burst, await login(client, "ann@example.com", PASSWORD)

    burst, after = call_from(_limits(monkeypatch, db_url), scenario)

    codes = collections.Counter(r.status_code for r in burst)
    assert codes == {401: 5, 429: 25}
    for response in burst:
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
            assert response.json()["error_code"] == "TOO_MANY_ATTEMPTS"
    assert after.status_code == 429 and 590 <= int(after.headers["retry-after"]) <= 600
    assert audit_rows(db_url, "auth.") == [("auth.lockout", "ann@example.com")]
    [(details,)] = fetch(db_url, "SELECT details FROM audit_log WHERE action = 'auth.lockout'")
    assert '"failures": 5' in str(details).replace("'", '"')


def test_a_concurrent_spray_from_one_address_checks_at_most_its_limit(db_url, monkeypatch) -> None:
    async def scenario(client: httpx.AsyncClient) -> list[httpx.Response]:
        return await asyncio.gather(
            *(login(client, f"user{i}@example.com", WRONG) for i in range(30))
        )

    burst = call_from(_limits(monkeypatch, db_url), scenario)

    assert collections.Counter(r.status_code for r in burst) == {401: 20, 429: 10}
    assert ("auth.lockout", "203.0.113.7") in audit_rows(db_url, "auth.")


def test_a_right_password_behind_a_full_burst_is_refused(db_url, monkeypatch) -> None:
    insert_user(db_url, "ann@example.com")

    async def scenario(client: httpx.AsyncClient) -> tuple[list[httpx.Response], httpx.Response]:
        gate = Gate()
        try:
            wrong = [asyncio.create_task(login(client, "ann@example.com", WRONG)) for _ in range(5)]
            await gate.parked(5)
            right = await login(client, "ann@example.com", PASSWORD)  # never reaches a check
        finally:
            gate.open()
        return list(await asyncio.gather(*wrong)), right

    wrong, right = call_from(_limits(monkeypatch, db_url, PASSWORD_HASH_WORKERS="1"), scenario)

    assert [r.status_code for r in wrong] == [401] * 5
    assert right.status_code == 429 and "access_token" not in right.text
    assert int(right.headers["retry-after"]) >= 1


def test_a_success_does_not_erase_a_lockout_started_meanwhile() -> None:
    from app.services.login_throttle import LoginThrottle

    throttle = LoginThrottle(max_failures=2, max_failures_per_address=100, window=60, lockout=300)
    reservation = throttle.reserve(account="a", address="x")
    assert not isinstance(reservation, int)
    throttle.failed(account="a", address="y")  # e.g. counted by the other attempts
    assert throttle.failed(account="a", address="z")  # the lockout starts
    reservation.succeeded()
    assert throttle.retry_after(account="a", address="x") == 300


def test_a_reservation_that_ends_in_an_error_frees_its_slot() -> None:
    from app.services.login_throttle import LoginThrottle

    throttle = LoginThrottle(max_failures=1, max_failures_per_address=100, window=60, lockout=300)
    first = throttle.reserve(account="a", address="x")
    assert not isinstance(first, int)
    assert throttle.reserve(account="a", address="x") == 1  # the slot is taken
    first.release()
    first.failed()  # already ended: counts nothing
    assert not isinstance(throttle.reserve(account="a", address="x"), int)


def test_an_unexpected_error_is_a_500_envelope_logged_without_its_message(
    db_url, monkeypatch, caplog
) -> None:
    from app.api.main import create_app

    settings = build_settings(monkeypatch, db_url)

    async def go() -> httpx.Response:
        app = create_app(settings)

        @app.get("/boom")
        async def boom() -> None:
            parameter = "-".join(["s3cret", "param"])  # not literally in the traceback's lines
            raise RuntimeError(f"UPDATE users ... parameters: ({parameter!r},)")

        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                return await client.get("/boom")
        finally:
            await app.state.engine.dispose()

    from tests.conftest import run_async

    with caplog.at_level(logging.ERROR):
        response = run_async(go())

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["success"] is False and body["data"] is None
    assert (body["error_code"], body["message"]) == ("INTERNAL_ERROR", "internal error")
    assert "s3cret-param" not in response.text and "s3cret-param" not in caplog.text
    assert "RuntimeError" in caplog.text
