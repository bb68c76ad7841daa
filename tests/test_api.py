"""The API reuses the CLI's backend: accounts and roles made with `manage` work through it.

The app is built against each test's own database (SQLite and PostgreSQL) and called
in-process through httpx's ASGI transport.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import fetch, run_async
from tests.roles_support import PASSWORD, audit_rows, create_user

SECRET = "test-secret-key-that-is-long-enough-0123456789"


def build_settings(monkeypatch: pytest.MonkeyPatch, db_url: str, **env: str):
    from app.config import Settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("ENVIRONMENT", "test")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def call_api(
    settings: Any,
    body: Callable[[httpx.AsyncClient], Awaitable[Any]],
    *,
    prepare: Callable[[Any], None] | None = None,
) -> Any:
    """Run `body(client)` against a fresh app for `settings` (given to `prepare` first, when
    set), then dispose its engine."""
    from app.api.main import create_app

    async def go() -> Any:
        app = create_app(settings)
        if prepare is not None:
            prepare(app)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                return await body(client)
        finally:
            await app.state.engine.dispose()

    return run_async(go())


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/token", data={"username": email, "password": password})


async def get_as(client: httpx.AsyncClient, email: str, path: str) -> httpx.Response:
    token = (await login(client, email)).json()["access_token"]
    return await client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_accounts_and_roles_made_by_the_cli_are_enforced_by_the_api(
    cli, db_url, monkeypatch
) -> None:
    # Everything is set up through the CLI, as ops would.
    def manage(*args: str, password: bool = False) -> None:
        outcome = cli(list(args), input=PASSWORD + "\n" if password else None, db=db_url)
        assert outcome.exit_code == 0, (args, outcome.stderr)

    manage(
        "users",
        "create-superuser",
        "--email",
        "root@example.com",
        "--password-stdin",
        password=True,
    )
    manage("roles", "create", "auditor", "-p", "roles:read")
    manage("users", "create", "--email", "audit@example.com", "--password-stdin", password=True)
    manage("users", "create", "--email", "gone@example.com", "--password-stdin", password=True)
    manage("roles", "grant", "auditor", "audit@example.com", "gone@example.com")
    manage("users", "deactivate", "gone@example.com")

    async def scenario(client: httpx.AsyncClient) -> dict[str, Any]:
        wrong = await login(client, "audit@example.com", "Wrong-password-123")
        return {
            "root /admin/users": await get_as(client, "root@example.com", "/admin/users"),
            "root /roles": await get_as(client, "root@example.com", "/roles"),
            "auditor /roles": await get_as(client, "audit@example.com", "/roles"),
            "auditor /admin/users": await get_as(client, "audit@example.com", "/admin/users"),
            "auditor /users/me": await get_as(client, "audit@example.com", "/users/me"),
            "deactivated login": await login(client, "gone@example.com"),
            "wrong password": wrong,
            "unknown user": await login(client, "nobody@example.com"),
            "no token": await client.get("/roles"),
        }

    r = call_api(build_settings(monkeypatch, db_url), scenario)

    assert r["root /admin/users"].status_code == 200
    listed = r["root /admin/users"].json()
    assert listed["success"] is True
    assert [u["email"] for u in listed["data"]["items"]] == [
        "root@example.com",
        "audit@example.com",
        "gone@example.com",
    ]
    assert r["root /roles"].status_code == 200

    assert r["auditor /roles"].status_code == 200
    [auditor] = r["auditor /roles"].json()["data"]
    assert (auditor["name"], auditor["permissions"], auditor["member_count"]) == (
        "auditor",
        ["roles:read"],
        2,
    )
    assert r["auditor /admin/users"].status_code == 403
    assert r["auditor /admin/users"].json() == {
        "success": False,
        "data": None,
        "message": "administrators only",
        "error_code": "REFUSED",
    }
    assert r["auditor /users/me"].json()["data"]["email"] == "audit@example.com"

    for case in ("deactivated login", "wrong password", "unknown user", "no token"):
        response = r[case]
        assert response.status_code == 401, case
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["success"] is False
        assert PASSWORD not in response.text
    assert r["deactivated login"].json()["error_code"] == "INACTIVE_USER"
    assert r["wrong password"].json()["message"] == "incorrect email or password"
    assert r["unknown user"].json()["message"] == "incorrect email or password"


def test_a_token_stops_working_once_the_user_is_deactivated(db_url, monkeypatch) -> None:
    create_user(db_url, "ann@example.com")

    async def get_token(client: httpx.AsyncClient) -> str:
        return (await login(client, "ann@example.com")).json()["access_token"]

    settings = build_settings(monkeypatch, db_url)
    token = call_api(settings, get_token)
    fetch(db_url, "UPDATE users SET is_active = false WHERE email = 'ann@example.com'")

    async def me(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})

    response = call_api(settings, me)
    assert response.status_code == 401
    assert response.json()["error_code"] == "INACTIVE_USER"


def test_a_wildcard_permission_opens_the_endpoint_and_no_role_is_403(
    cli, db_url, monkeypatch
) -> None:
    cli(["roles", "create", "role-admin", "-p", "roles:*"], db=db_url)
    create_user(db_url, "lead@example.com")
    create_user(db_url, "plain@example.com")
    cli(["roles", "grant", "role-admin", "lead@example.com"], db=db_url)

    async def scenario(client: httpx.AsyncClient) -> tuple[httpx.Response, httpx.Response]:
        return (
            await get_as(client, "lead@example.com", "/roles"),
            await get_as(client, "plain@example.com", "/roles"),
        )

    lead, plain = call_api(build_settings(monkeypatch, db_url), scenario)
    assert lead.status_code == 200
    assert plain.status_code == 403
    assert plain.json()["error_code"] == "PERMISSION_DENIED"
    assert plain.json()["message"] == "missing permission roles:read"


@pytest.mark.parametrize("token", ["junk", "a.b.c"])
def test_a_malformed_token_is_401(db_url, monkeypatch, token) -> None:
    async def me(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})

    response = call_api(build_settings(monkeypatch, db_url), me)
    assert response.status_code == 401
    assert response.json()["message"] == "invalid token"


def test_tokens_signed_with_another_key_or_expired_are_401(db_url, monkeypatch) -> None:
    from datetime import UTC, datetime, timedelta

    from app.auth_config import AuthSettings
    from app.models import User
    from app.services.auth import create_access_token

    create_user(db_url, "ann@example.com")
    [(user_id, stamp)] = fetch(db_url, "SELECT id, security_stamp FROM users")
    user = User(id=user_id, email="ann@example.com", hashed_password="x", security_stamp=stamp)
    forged = create_access_token(
        AuthSettings(secret_key="another-key-that-is-long-enough-0123456789"), user=user
    )
    expired = create_access_token(
        AuthSettings(secret_key=SECRET, access_token_expire_minutes=1),
        user=user,
        now=datetime.now(UTC) - timedelta(minutes=5),
    )

    async def calls(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await client.get("/users/me", headers={"Authorization": f"Bearer {t}"})
            for t in (forged, expired)
        ]

    forged_response, expired_response = call_api(build_settings(monkeypatch, db_url), calls)
    assert forged_response.status_code == 401
    assert expired_response.status_code == 401
    assert expired_response.json()["message"] == "token expired"


def test_login_rehashes_a_bcrypt_hash_with_argon2(db_url, monkeypatch) -> None:
    from passlib.hash import bcrypt

    from app.security import verify_password

    create_user(db_url, "old@example.com")
    fetch(
        db_url,
        "UPDATE users SET hashed_password = :h WHERE email = 'old@example.com'",
        {"h": bcrypt.using(rounds=4).hash(PASSWORD)},
    )

    async def go(client: httpx.AsyncClient) -> httpx.Response:
        return await login(client, "old@example.com")

    assert call_api(build_settings(monkeypatch, db_url), go).status_code == 200
    [(hashed,)] = fetch(db_url, "SELECT hashed_password FROM users")
    assert hashed.startswith("$argon2id$")
    assert verify_password(PASSWORD, hashed)
    assert audit_rows(db_url, "user.password_rehash") == [
        ("user.password_rehash", "old@example.com")
    ]
    assert PASSWORD not in str(fetch(db_url, "SELECT details FROM audit_log"))


def test_missing_form_fields_are_a_422_envelope(db_url, monkeypatch) -> None:
    async def go(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/auth/token", data={"username": "x@example.com"})

    response = call_api(build_settings(monkeypatch, db_url), go)
    assert response.status_code == 422
    assert response.json() == {
        "success": False,
        "data": None,
        "message": "password: Field required",
        "error_code": "INVALID_INPUT",
    }


@pytest.mark.parametrize("environment", ["production", "staging"])
@pytest.mark.parametrize("secret", [None, "change-me", "short-but-real"])
def test_the_api_refuses_a_placeholder_secret_key_outside_development(
    monkeypatch, environment, secret
) -> None:
    from app.api.main import InsecureSettingsError, create_app
    from app.config import Settings

    monkeypatch.setenv("ENVIRONMENT", environment)
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(InsecureSettingsError) as caught:
        create_app(Settings())
    assert "SECRET_KEY" in str(caught.value)
    if secret:
        assert secret not in str(caught.value)


@pytest.mark.parametrize(("environment", "secret"), [("development", None), ("production", SECRET)])
def test_the_api_starts_with_a_real_key_or_in_development(monkeypatch, environment, secret) -> None:
    from app.api.main import create_app
    from app.config import Settings

    monkeypatch.setenv("ENVIRONMENT", environment)
    if secret:
        monkeypatch.setenv("SECRET_KEY", secret)
    else:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app(Settings())
    run_async(app.state.engine.dispose())
    assert {"/auth/token", "/users/me", "/admin/users", "/roles"} <= set(app.openapi()["paths"])


def test_the_cli_never_imports_the_api(db_url) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO, manage_env

    probe = (
        "import sys\n"
        "sys.argv = ['manage', 'roles', 'list', '--json']\n"
        "from manage.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = [m for m in sys.modules if m == 'fastapi' or m.startswith('app.api')]\n"
        "print('API', sorted(loaded))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=manage_env(db_url),
        cwd=REPO,
        timeout=60,
    )
    assert '"success": true' in proc.stdout, proc.stderr
    assert "API []" in proc.stdout


def test_an_unreachable_database_is_a_503_envelope(monkeypatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = build_settings(
        monkeypatch,
        f"postgresql://postgres:db-pw-123@127.0.0.1:{port}/app",
        DB_CONNECT_TIMEOUT="1",
    )

    async def go(client: httpx.AsyncClient) -> httpx.Response:
        return await login(client, "ann@example.com")

    response = call_api(settings, go)
    assert response.status_code == 503
    assert response.json()["error_code"] == "DB_UNAVAILABLE"
    assert "db-pw-123" not in response.text
