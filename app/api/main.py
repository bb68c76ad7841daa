"""The FastAPI application factory.

Run it with `uvicorn app.api.main:create_app --factory`. Nothing is built at import time:
create_app() reads the settings, decides the signing key (see signing_settings), and builds
the engine (disposed at shutdown) and the login throttle.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import SecretStr

from app.api.errors import install_error_handlers
from app.api.routers import auth, roles, users
from app.auth_config import AuthSettings
from app.config import Environment, Settings, get_settings
from app.security import default_hash_workers, hashing_pool
from app.services.auth import dummy_hash
from app.services.login_throttle import LoginThrottle
from db.engine import create_engine, session_factory

logger = logging.getLogger(__name__)
_RELAXED = {Environment.development, Environment.test}


class InsecureSettingsError(RuntimeError):
    """The API refuses to start with settings that would make tokens forgeable."""


def signing_settings(settings: Settings) -> AuthSettings:
    """The auth settings the API signs and checks tokens with.

    A real SECRET_KEY (not a placeholder, at least 32 characters) is used as given. Otherwise
    the API refuses to start (InsecureSettingsError, the key never in the message) unless
    ENVIRONMENT is *explicitly* `development` or `test` (set in the environment or `.env`; the
    default does not count); then it signs with a random key made for this process, with a
    loud warning, so no known key ever signs tokens, and tokens die with the process.
    """
    problem = settings.auth.secret_key_problem()
    if problem is None:
        return settings.auth
    environment = settings.app.environment
    explicit = "environment" in settings.app.model_fields_set
    if not (explicit and environment in _RELAXED):
        shown = environment.value if explicit else "unset"
        raise InsecureSettingsError(
            f"{problem} (ENVIRONMENT={shown}); set SECRET_KEY to a random value, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` (a placeholder key is "
            "only replaced by a per-process random key with ENVIRONMENT=development or test)"
        )
    logger.warning(
        "%s: signing tokens with a random key made for this process (ENVIRONMENT=%s); every "
        "token ends when the process does. Set SECRET_KEY for anything but local development.",
        problem,
        environment.value,
    )
    return settings.auth.model_copy(update={"secret_key": SecretStr(secrets.token_urlsafe(48))})


def check_settings(settings: Settings) -> None:
    """Raise InsecureSettingsError when the API may not start with `settings`."""
    signing_settings(settings)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    auth_settings = signing_settings(settings)
    engine = create_engine(settings.db)
    workers = auth_settings.password_hash_workers or default_hash_workers()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The unknown-email hash up front, so the first unknown email is no slower than the rest.
        await asyncio.get_running_loop().run_in_executor(hashing_pool(workers), dummy_hash)
        yield
        await engine.dispose()

    app = FastAPI(title="backend", lifespan=lifespan)
    app.state.settings = settings
    app.state.auth = auth_settings
    app.state.hash_workers = workers
    app.state.login_throttle = LoginThrottle(
        max_failures=auth_settings.login_max_failures,
        max_failures_per_address=auth_settings.login_max_failures_per_address,
        window=auth_settings.login_failure_window_seconds,
        lockout=auth_settings.login_lockout_seconds,
    )
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    install_error_handlers(app)
    for module in (auth, users, roles):
        app.include_router(module.router)
    return app
