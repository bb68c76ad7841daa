"""The signing key fails closed: no known key ever signs a token.

A placeholder or short SECRET_KEY stops the API from starting unless ENVIRONMENT is explicitly
development or test; then a random per-process key signs, so a token forged with the
placeholder is refused and tokens end with the process.
"""

from __future__ import annotations

import logging
import subprocess
import sys

import httpx
import jwt
import pytest

from tests.api_support import insert_user
from tests.conftest import manage_env
from tests.test_api import SECRET, call_api, login

PLACEHOLDERS = [None, "change-me", "changethis", "your-secret-key", "short-but-real"]


def settings_with(monkeypatch: pytest.MonkeyPatch, db_url: str, **env: str | None):
    from app.config import Settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return Settings()


@pytest.mark.parametrize("environment", [None, "production", "staging"])
@pytest.mark.parametrize("secret", PLACEHOLDERS)
def test_a_placeholder_or_short_key_is_refused_unless_development_or_test_is_explicit(
    monkeypatch, tmp_path, environment, secret
) -> None:
    from app.api.main import InsecureSettingsError, create_app

    settings = settings_with(
        monkeypatch,
        f"sqlite+aiosqlite:///{tmp_path}/x.db",
        ENVIRONMENT=environment,
        SECRET_KEY=secret,
    )
    with pytest.raises(InsecureSettingsError) as caught:
        create_app(settings)
    assert "SECRET_KEY" in str(caught.value)
    assert f"ENVIRONMENT={environment or 'unset'}" in str(caught.value)
    if secret:
        assert secret not in str(caught.value)


def test_uvicorn_refuses_to_start_the_api_with_the_default_key(tmp_path) -> None:
    # The real way to run it, with nothing configured: ENVIRONMENT unset, SECRET_KEY unset.
    proc = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app.api.main:create_app", "--factory", "--port", "0"],
        env=manage_env(f"sqlite+aiosqlite:///{tmp_path}/x.db"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "InsecureSettingsError" in proc.stderr
    assert "SECRET_KEY is unset or a placeholder (ENVIRONMENT=unset)" in proc.stderr
    assert "Uvicorn running" not in proc.stderr


@pytest.mark.parametrize("environment", ["development", "test"])
@pytest.mark.parametrize("secret", [None, "change-me"])
def test_explicit_development_signs_with_a_random_per_process_key(
    db_url, monkeypatch, caplog, environment, secret
) -> None:
    from app.auth_config import DEFAULT_SECRET_KEY

    root_id = insert_user(db_url, "root@example.com", superuser=True)
    settings = settings_with(monkeypatch, db_url, ENVIRONMENT=environment, SECRET_KEY=secret)

    async def scenario(client: httpx.AsyncClient) -> dict[str, httpx.Response]:
        token = (await login(client, "root@example.com")).json()["access_token"]
        # The same claims (right id, right stamp) signed with the well-known key.
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["sub"] == str(root_id)
        forged = jwt.encode(claims, DEFAULT_SECRET_KEY, algorithm="HS256")
        return {
            "real": await client.get("/admin/users", headers={"Authorization": f"Bearer {token}"}),
            "forged": await client.get(
                "/admin/users", headers={"Authorization": f"Bearer {forged}"}
            ),
            "token": token,
        }

    with caplog.at_level(logging.WARNING, logger="app.api.main"):
        first = call_api(settings, scenario)
        second_app_token_check = call_api(
            settings,
            lambda client: client.get(
                "/users/me", headers={"Authorization": f"Bearer {first['token']}"}
            ),
        )

    assert first["real"].status_code == 200
    assert first["forged"].status_code == 401  # a forged admin token with the known key
    assert second_app_token_check.status_code == 401  # tokens die with the process (app)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("random key made for this process" in w for w in warnings), warnings


def test_environment_from_the_env_file_counts_as_explicit(tmp_path, monkeypatch) -> None:
    from app.api.main import InsecureSettingsError, signing_settings
    from app.config import Settings

    monkeypatch.delenv("ENVIRONMENT", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("ENVIRONMENT=development\n")
    assert signing_settings(Settings(env_file=env_file)).secret_key.get_secret_value() != (
        "change-me"
    )
    env_file.write_text("DB_CONNECT_TIMEOUT=5\n")
    with pytest.raises(InsecureSettingsError):
        signing_settings(Settings(env_file=env_file))


def test_a_real_key_is_used_as_given_in_every_environment(monkeypatch, tmp_path) -> None:
    from app.api.main import signing_settings

    for environment in (None, "development", "production"):
        settings = settings_with(
            monkeypatch,
            f"sqlite+aiosqlite:///{tmp_path}/x.db",
            ENVIRONMENT=environment,
            SECRET_KEY=SECRET,
        )
        assert signing_settings(settings).secret_key.get_secret_value() == SECRET
