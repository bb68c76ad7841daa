"""Settings, composed from one class per concern. Nothing is read at import time.

Precedence: flags (passed by the CLI as overrides) > environment > `.env` in the working
directory > defaults.
"""

from __future__ import annotations

import configparser
import ipaddress
import os
from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

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
        """Raises SettingsSourceError when `env_file` or a variable cannot be read as text
        (see check_env_file, check_environment); pydantic's ValidationError for bad values."""
        check_environment()
        if env_file is not None:
            check_env_file(env_file)
        sources = {"_env_file": env_file} if env_file is not None else {}
        self.app = AppSettings(**sources)
        self.db = DatabaseSettings(**sources)
        self.security = SecuritySettings(**sources)
        self.auth = AuthSettings(**sources)

    @property
    def environment_is_explicit(self) -> bool:
        """True when ENVIRONMENT was set (environment or `.env`), not the default."""
        return "environment" in self.app.model_fields_set

    @property
    def is_production(self) -> bool:
        """Whether the production guard applies to destructive commands.

        ENVIRONMENT=production, and also an unset ENVIRONMENT while DATABASE_URL (or
        DB_MIGRATION_URL) points at a server other than this machine: an unlabelled remote
        database is treated as production (fail safe). Set ENVIRONMENT=development (or test,
        staging) to say otherwise.
        """
        if self.app.environment is Environment.production:
            return True
        if self.environment_is_explicit:
            return False
        urls = (self.db.database_url, self.db.db_migration_url)
        return not all(is_local_database(url) for url in urls if url)


def is_local_database(url: str, environ: Mapping[str, str] | None = None) -> bool:
    """True for SQLite, a Unix socket, or a loopback host (localhost, 127.0.0.0/8, ::1).

    A PostgreSQL URL without a host connects where the driver's other sources say, as asyncpg
    resolves it (asyncpg/connect_utils.py, _parse_connect_dsn_and_args): `?host=`, then the
    service's `host` (`?service=` or PGSERVICE, in PGSERVICEFILE or ~/.pg_service.conf), then
    PGHOST; only when none gives a host does it use the local socket directories and
    localhost. So such a URL is local only if the host those sources give is. PGHOSTADDR and
    `?hostaddr=` (libpq's, used by `db shell`) must be loopback too when set. Anything that
    cannot be parsed or read counts as remote. `environ` defaults to os.environ.
    """
    if url.startswith("sqlite"):
        return True
    env = os.environ if environ is None else environ
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        hosts = [h for h in (*query.get("host", []), parts.hostname or "") if h]
        addresses = [*query.get("hostaddr", []), env.get("PGHOSTADDR", "")]
        if not hosts:
            hosts = _implicit_hosts(query, env)
    except (ValueError, OSError, configparser.Error):
        return False
    hosts += [a for a in addresses if a]
    return all(_is_local_host(host) for host in hosts)


def _implicit_hosts(query: dict[str, list[str]], env: Mapping[str, str]) -> list[str]:
    """The hosts asyncpg uses for a URL without one (see is_local_database); [] = local."""
    service = (query.get("service") or [env.get("PGSERVICE", "")])[0]
    if service:
        path = env.get("PGSERVICEFILE") or str(Path.home() / ".pg_service.conf")
        parser = configparser.ConfigParser()
        parser.read(path)
        if parser.has_section(service) and parser[service].get("host"):
            return _host_list(parser[service]["host"])
    return _host_list(env.get("PGHOST", ""))


def _host_list(spec: str) -> list[str]:
    """The hosts of a libpq host list ("h1,h2:5433,[::1]:5432,/run/postgresql"), ports cut."""
    hosts = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if item.startswith("["):
            item = item[1 : item.index("]")]
        elif not item.startswith("/") and item.count(":") == 1:
            item = item.partition(":")[0]
        hosts.append(item)
    return hosts


def _is_local_host(host: str) -> bool:
    if host.startswith("/"):  # a Unix-domain socket directory
        return True
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# Every concern, in the order `manage config show` lists them.
CONCERNS: tuple[type[BaseSettings], ...] = (
    AppSettings,
    DatabaseSettings,
    SecuritySettings,
    AuthSettings,
)


class SettingsSourceError(ValueError):
    """A settings source that cannot be read: `.env` or an environment variable. The
    message names the source (and the line of `.env`), never a value."""


# `.env` holds a few dozen settings; anything near this size is not one.
MAX_ENV_FILE_BYTES = 1024 * 1024


def check_env_file(path: Path) -> None:
    """Refuse a `.env` that pydantic-settings would hang on or fail to decode: it must be a
    regular file (pydantic-settings opens FIFOs too, and waits forever for a writer), at
    most MAX_ENV_FILE_BYTES, and UTF-8. A missing `.env` is fine (it is optional).

    Raises SettingsSourceError(".env: not UTF-8 text (line 3)" and the like).
    """
    import os
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: a FIFO with no writer does not block here
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SettingsSourceError(f".env: {exc.strerror or type(exc).__name__}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            return  # not a file: pydantic-settings skips it as well
        if not stat.S_ISREG(mode):
            raise SettingsSourceError(".env: not a regular file (a pipe, a device or a socket)")
        raw = os.read(fd, MAX_ENV_FILE_BYTES + 1)
        while len(raw) <= MAX_ENV_FILE_BYTES and (more := os.read(fd, MAX_ENV_FILE_BYTES)):
            raw += more
    except OSError as exc:
        raise SettingsSourceError(f".env: {exc.strerror or type(exc).__name__}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_ENV_FILE_BYTES:
        raise SettingsSourceError(f".env: larger than {MAX_ENV_FILE_BYTES // 1024} KiB")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SettingsSourceError(f".env: not UTF-8 text (line {line})") from None


def check_environment() -> None:
    """Refuse a settings variable whose value is not UTF-8 text. Python keeps such bytes
    as lone surrogates (PEP 383), which fail deep inside a driver; named here instead.

    Raises SettingsSourceError("DATABASE_URL: not UTF-8 text").
    """
    import os

    names = {name.upper() for concern in CONCERNS for name in concern.model_fields}
    for name, value in os.environ.items():
        if name.upper() in names and not _is_utf8(value):
            raise SettingsSourceError(
                f"{name}: not UTF-8 text (it holds bytes of another encoding)"
            )


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def default_env_file() -> Path:
    return Path.cwd().resolve() / ".env"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Load settings once per process (the CLI clears the cache at each command start)."""
    return Settings(env_file=default_env_file())
