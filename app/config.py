"""Settings, composed from one class per concern. Nothing is read at import time.

Precedence: flags (passed by the CLI as overrides) > environment > `.env` in the working
directory > defaults.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.auth_config import AuthSettings
from app.security_config import SecuritySettings
from db.config import DatabaseSettings


class Environment(StrEnum):
    development = "development"
    test = "test"
    staging = "staging"
    production = "production"


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    environment: Environment = Environment.development
    first_superuser_email: str | None = None
    first_superuser_password: SecretStr | None = None
    # A file holding the password (a Docker or Kubernetes secret); wins over the variable.
    first_superuser_password_file: Path | None = None


class Settings:
    """The effective settings: one object per concern, loaded from the same sources."""

    def __init__(self, *, env_file: Path | None = None) -> None:
        sources = {"_env_file": env_file} if env_file is not None else {}
        self.app = AppSettings(**sources)
        self.db = DatabaseSettings(**sources)
        self.security = SecuritySettings(**sources)
        self.auth = AuthSettings(**sources)

    @property
    def is_production(self) -> bool:
        return self.app.environment is Environment.production


# Every concern, in the order `manage config show` lists them.
CONCERNS: tuple[type[BaseSettings], ...] = (
    AppSettings,
    DatabaseSettings,
    SecuritySettings,
    AuthSettings,
)


def default_env_file() -> Path:
    return Path.cwd().resolve() / ".env"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Load settings once per process (the CLI clears the cache at each command start)."""
    return Settings(env_file=default_env_file())
