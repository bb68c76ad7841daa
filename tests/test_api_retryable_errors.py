"""A request PostgreSQL rolls back because another transaction won (SQLSTATE class 40), or
stops with a server-side timeout (57014, 55P03), is a 503 with Retry-After that a client can
tell from a bug, never a 500; and neither the answer nor the log holds the statement's values.

Every error is raised by the server during a real login (its last statement is an UPDATE of
the account's row): by a trigger with that SQLSTATE, or for real (a deadlock, a serialization
failure, a lock_timeout and a statement_timeout against a lock held by a second connection).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from tests.api_support import insert_user, password_hash
from tests.conftest import fetch, run_async, until_a_lock_is_awaited
from tests.roles_support import PASSWORD
from tests.test_api import build_settings, call_api, login

EMAIL = "canary-7f3a@example.com"
ROLLED_BACK = ("CONCURRENT_UPDATE", "rolled back by a concurrent transaction; retry")
STATEMENT_TIMEOUT = (
    "DB_TIMEOUT",
    "the database canceled a statement (statement timeout); retry",
)
LOCK_TIMEOUT = ("DB_TIMEOUT", "a lock was not available in time (lock timeout); retry")


@pytest.fixture
def account(pg_db_url: str, caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    """An account to log in to, what must never be shown (its email, stamp, hash and
    password: the UPDATE's parameters and the trigger's message), and the app's log."""
    user_id = insert_user(pg_db_url, EMAIL)
    [(stamp,)] = fetch(pg_db_url, "SELECT security_stamp FROM users WHERE id = :i", {"i": user_id})
    caplog.set_level(logging.DEBUG, logger="app")
    return {"id": user_id, "secrets": [EMAIL, stamp, password_hash(), PASSWORD]}


def sql(url: str, *statements: str) -> None:
    async def go() -> None:
        conn = await connect(url)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    run_async(go())


async def connect(url: str) -> Any:
    import asyncpg

    return await asyncpg.connect(url, timeout=5)


def raise_on_login(url: str, code: str) -> None:
    """The account's UPDATE raises `code`, with the account's email in its message."""
    sql(
        url,
        "CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"RAISE EXCEPTION 'refused the write of %', NEW.email USING ERRCODE = '{code}'; "
        "END $$",
        "CREATE TRIGGER refuse_write BEFORE UPDATE ON users "
        "FOR EACH ROW EXECUTE FUNCTION refuse_write()",
    )


async def until_a_session_waits_for_a_lock(url: str) -> None:
    conn = await connect(url)
    try:
        await until_a_lock_is_awaited(conn, deadline=10)
    finally:
        await conn.close()


def assert_retryable(
    response: httpx.Response, caplog: pytest.LogCaptureFixture, account: dict, *, state: str
) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert_hides_values(response, caplog, account)
    assert f"(SQLSTATE {state}) in POST /auth/token: 503" in caplog.text


def assert_hides_values(
    response: httpx.Response, caplog: pytest.LogCaptureFixture, account: dict
) -> None:
    assert "access_token" not in response.text
    for secret in account["secrets"]:
        assert secret not in response.text
        assert secret not in caplog.text
    assert "refused the write" not in response.text + caplog.text


def log_in(settings: Any, **options: Any) -> httpx.Response:
    async def go(client: httpx.AsyncClient) -> httpx.Response:
        return await login(client, EMAIL)

    return call_api(settings, go, **options)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("40001", ROLLED_BACK),  # serialization_failure
        ("40P01", ROLLED_BACK),  # deadlock_detected
        ("40003", ROLLED_BACK),  # statement_completion_unknown: class 40 all the same
        ("57014", STATEMENT_TIMEOUT),  # query_canceled
        ("55P03", LOCK_TIMEOUT),  # lock_not_available
    ],
)
def test_a_login_the_server_rolls_back_or_times_out_is_503_retry_after_not_500(
    pg_db_url, monkeypatch, caplog, account, code, expected
) -> None:
    raise_on_login(pg_db_url, code)

    response = log_in(build_settings(monkeypatch, pg_db_url))

    assert_retryable(response, caplog, account, state=code)
    error_code, message = expected
    assert response.json() == {
        "success": False,
        "data": None,
        "message": message,
        "error_code": error_code,
    }


@pytest.mark.parametrize("code", ["22012", "P0001", "23505"])
def test_any_other_database_error_is_still_a_500_that_shows_nothing_of_it(
    pg_db_url, monkeypatch, caplog, account, code
) -> None:
    raise_on_login(pg_db_url, code)

    response = log_in(build_settings(monkeypatch, pg_db_url))

    assert response.status_code == 500
    assert "retry-after" not in response.headers
    assert response.json()["error_code"] == "INTERNAL_ERROR"
    assert response.json()["message"] == "internal error"
    assert_hides_values(response, caplog, account)
    assert "unhandled" in caplog.text


@pytest.mark.parametrize(("code", "expected"), [("40P01", ROLLED_BACK), ("55P03", LOCK_TIMEOUT)])
def test_a_rollback_wrapped_as_operational_error_is_not_called_database_unavailable(
    pg_db_url, monkeypatch, caplog, account, code, expected
) -> None:
    """asyncpg's errors reach the API as a plain DBAPIError; psycopg's (and SQLAlchemy's
    other PostgreSQL drivers') as an OperationalError, which used to read "database
    unavailable". The real server error, re-wrapped by SQLAlchemy's own handle_error hook."""
    from sqlalchemy import event
    from sqlalchemy.exc import DBAPIError, OperationalError

    def as_operational_error(app: Any) -> None:
        @event.listens_for(app.state.engine.sync_engine, "handle_error")
        def rewrap(context: Any) -> Any:
            if type(context.sqlalchemy_exception) is DBAPIError:
                return OperationalError(
                    context.statement, context.parameters, context.original_exception
                )
            return None

    raise_on_login(pg_db_url, code)

    response = log_in(build_settings(monkeypatch, pg_db_url), prepare=as_operational_error)

    assert_retryable(response, caplog, account, state=code)
    assert "OperationalError (SQLSTATE" in caplog.text
    assert response.json()["error_code"] == expected[0]


def test_a_real_deadlock_with_another_transaction_is_503_concurrent_update(
    pg_db_url, monkeypatch, caplog, account
) -> None:
    """The login holds the account's row and waits for `gate`; the other session holds `gate`
    and asks for the row. The login's deadlock_timeout (100 ms) passes first: it is the one
    PostgreSQL rolls back."""
    name = pg_db_url.rsplit("/", 1)[1]
    sql(
        pg_db_url,
        f"ALTER DATABASE \"{name}\" SET deadlock_timeout = '100ms'",
        "CREATE TABLE gate (n integer NOT NULL)",
        "INSERT INTO gate VALUES (0)",
        "CREATE FUNCTION take_gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE gate SET n = n + 1; RETURN NULL; END $$",
        "CREATE TRIGGER take_gate AFTER UPDATE ON users FOR EACH ROW EXECUTE FUNCTION take_gate()",
    )

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        other = await connect(pg_db_url)
        try:
            await other.execute("SET deadlock_timeout = '30s'")
            async with other.transaction():
                await other.execute("UPDATE gate SET n = n + 1")
                request = asyncio.create_task(login(client, EMAIL))
                await until_a_session_waits_for_a_lock(pg_db_url)
                await other.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", account["id"])
                return await request
        finally:
            await other.close()

    response = call_api(build_settings(monkeypatch, pg_db_url), scenario)

    assert_retryable(response, caplog, account, state="40P01")
    assert response.json()["error_code"] == "CONCURRENT_UPDATE"


def test_a_real_serialization_failure_is_503_concurrent_update(
    pg_db_url, monkeypatch, caplog, account
) -> None:
    """Under REPEATABLE READ the login's UPDATE waits for another session's update of the
    same row; that one commits, so PostgreSQL cannot serialize the login (40001)."""
    name = pg_db_url.rsplit("/", 1)[1]
    sql(
        pg_db_url,
        f"ALTER DATABASE \"{name}\" SET default_transaction_isolation = 'repeatable read'",
    )

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        other = await connect(pg_db_url)
        try:
            async with other.transaction():
                await other.execute(
                    "UPDATE users SET updated_at = updated_at WHERE id = $1", account["id"]
                )
                request = asyncio.create_task(login(client, EMAIL))
                await until_a_session_waits_for_a_lock(pg_db_url)
            return await request
        finally:
            await other.close()

    response = call_api(build_settings(monkeypatch, pg_db_url), scenario)

    assert_retryable(response, caplog, account, state="40001")
    assert response.json()["error_code"] == "CONCURRENT_UPDATE"


@pytest.mark.parametrize(
    ("setting", "state", "expected"),
    [
        ("DB_LOCK_TIMEOUT", "55P03", LOCK_TIMEOUT),
        ("DB_STATEMENT_TIMEOUT", "57014", STATEMENT_TIMEOUT),
    ],
)
def test_a_real_server_timeout_behind_another_sessions_lock_is_503_db_timeout(
    pg_db_url, monkeypatch, caplog, account, setting, state, expected
) -> None:
    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        other = await connect(pg_db_url)
        try:
            async with other.transaction():
                await other.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", account["id"])
                return await login(client, EMAIL)
        finally:
            await other.close()

    settings = build_settings(monkeypatch, pg_db_url, **{setting: "0.3"})
    response = call_api(settings, scenario)

    assert_retryable(response, caplog, account, state=state)
    assert response.json()["message"] == expected[1]
