"""The FastAPI application factory.

Run it with `uvicorn app.api.main:create_app --factory`. Nothing is built at import time:
create_app() reads the settings, refuses a placeholder SECRET_KEY outside development and
test, and builds the engine (disposed at shutdown).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api.errors import install_error_handlers
from app.api.routers import auth, roles, users
from app.config import Environment, Settings, get_settings
from db.engine import create_engine, session_factory

_RELAXED = {Environment.development, Environment.test}


class InsecureSettingsError(RuntimeError):
    """The API refuses to start with settings that would make tokens forgeable."""


def check_settings(settings: Settings) -> None:
    problem = settings.auth.secret_key_problem()
    if problem and settings.app.environment not in _RELAXED:
        raise InsecureSettingsError(
            f"{problem} (ENVIRONMENT={settings.app.environment.value}); set SECRET_KEY to a "
            "random value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    check_settings(settings)
    engine = create_engine(settings.db)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(title="backend", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    install_error_handlers(app)
    for module in (auth, users, roles):
        app.include_router(module.router)
    return app
