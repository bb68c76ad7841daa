"""API authentication settings: the JWT signing key, token lifetime, login throttling."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that must never sign tokens outside development and test.
PLACEHOLDER_SECRET_KEYS = frozenset(
    {"", "change-me", "changeme", "changethis", "secret", "secret-key", "your-secret-key"}
)
DEFAULT_SECRET_KEY = "change-me"
MIN_SECRET_KEY_LENGTH = 32


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    jwt_algorithm: str = Field(default="HS256", pattern=r"^HS(256|384|512)$")
    access_token_expire_minutes: int = Field(default=30, ge=1, le=60 * 24 * 30)
    # Login throttling (per process): this many wrong passwords within the window lock the
    # account (any client) or the client address (any account) for the lockout time.
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_address: int = Field(default=20, ge=1, le=100_000)
    login_failure_window_seconds: int = Field(default=900, ge=1, le=86_400)
    login_lockout_seconds: int = Field(default=900, ge=1, le=86_400)
    # Threads that hash and verify passwords off the event loop (0: half the CPUs).
    password_hash_workers: int = Field(default=0, ge=0, le=64)

    def secret_key_problem(self) -> str | None:
        """Why SECRET_KEY may not sign tokens outside development/test, or None."""
        key = self.secret_key.get_secret_value()
        if key.strip().lower() in PLACEHOLDER_SECRET_KEYS:
            return "SECRET_KEY is unset or a placeholder"
        if len(key) < MIN_SECRET_KEY_LENGTH:
            return f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters"
        return None
