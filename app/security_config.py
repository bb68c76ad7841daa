"""Password policy settings."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SecuritySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    password_min_length: int = Field(default=10, ge=8, le=128)
