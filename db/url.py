"""DATABASE_URL: the forms accepted, how libpq's parameters reach asyncpg, and masking.

Managed PostgreSQL providers print libpq connection strings (`?sslmode=verify-full&
sslrootcert=...`, `?connect_timeout=10`, `?options=...`). SQLAlchemy passes every query
parameter to `asyncpg.connect()` as a keyword, and asyncpg takes few of them as keywords: the
rest was a TypeError (exit 70). Here each parameter is either translated or refused up front
(ValueError naming it, exit 5), and `connect_args()` builds what asyncpg needs:

- the SSL and session-selection parameters go to asyncpg's own DSN parser, which builds the
  SSL context from sslrootcert / sslcert / sslkey the way libpq does (verify-ca, verify-full);
- connect_timeout becomes asyncpg's connect `timeout`;
- application_name and options become startup parameters (server_settings): PostgreSQL reads
  `-c name=value` inside options itself, as it does for libpq, and proxies such as Neon's read
  their own keys there (`options=endpoint%3D...`);
- host (several `?host=h:port`, or a socket directory such as Cloud SQL's /cloudsql/...) and
  prepared_statement_cache_size are SQLAlchemy's own;
- channel_binding=prefer|disable is accepted and has no effect (asyncpg does not bind
  channels; libpq's default, prefer, allows that); require is refused.

Sources: libpq "Parameter Key Words" (PostgreSQL 17 docs, 32.1.2); asyncpg 0.30
connect_utils._parse_connect_dsn_and_args; SQLAlchemy 2.x asyncpg dialect ("Multihost
Connections", "Prepared Statement Cache").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_TARGET_SESSION_ATTRS = ("any", "primary", "standby", "read-write", "read-only", "prefer-standby")
_TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_FILES = ("sslrootcert", "sslcert", "sslkey", "sslcrl")
# Handed to asyncpg's DSN parser (it implements them like libpq).
_DSN = (
    "sslmode",
    *_FILES,
    "sslpassword",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "sslnegotiation",
    "target_session_attrs",
    "user",
    "password",
    "dbname",
)
_TRANSLATED = ("ssl", "connect_timeout", "application_name", "options", "channel_binding")
_SQLALCHEMY = ("host", "prepared_statement_cache_size")
SUPPORTED = (*_DSN, *_TRANSLATED, *_SQLALCHEMY)
SECRET_PARAMETERS = ("password", "sslpassword")
MASK = "***"


def _one(query: dict[str, Any], name: str) -> str:
    value = query[name]
    if isinstance(value, tuple):
        raise ValueError(f"parameter {name!r} is given more than once")
    return value


def short(value: str) -> str:
    """`value` quoted for an error line: at most 40 characters, control characters escaped."""
    return repr(value if len(value) <= 40 else value[:40] + "...")


def check_postgres_query(query: dict[str, Any]) -> None:
    """Raise ValueError naming the first parameter that is unknown or has a bad value."""
    for name in query:
        if name not in SUPPORTED:
            raise ValueError(
                f"parameter {name!r} is not supported (supported: {', '.join(SUPPORTED)})"
            )
        if name != "host":  # SQLAlchemy's several-hosts form repeats it
            _one(query, name)
    for name in ("sslmode", "ssl"):
        if name in query and query[name].lower() not in SSL_MODES:
            hint = "; for TLS write sslmode=require" if name == "ssl" else ""
            raise ValueError(
                f"parameter {name!r} must be one of {', '.join(SSL_MODES)} "
                f"(got {short(query[name])}{hint})"
            )
    if "sslmode" in query and "ssl" in query:
        raise ValueError("parameters 'ssl' and 'sslmode' say the same thing: keep sslmode")
    if "connect_timeout" in query:
        _connect_timeout(query["connect_timeout"])
    if query.get("channel_binding", "prefer") not in ("prefer", "disable"):
        # libpq's default is prefer: use it when offered. asyncpg authenticates with
        # SCRAM-SHA-256 without channel binding, so only "require" cannot be honoured.
        raise ValueError(
            "parameter 'channel_binding' can only be prefer or disable: asyncpg does not do "
            "SCRAM channel binding (remove channel_binding=require)"
        )
    if "target_session_attrs" in query and query["target_session_attrs"] not in (
        _TARGET_SESSION_ATTRS
    ):
        raise ValueError(
            f"parameter 'target_session_attrs' must be one of {', '.join(_TARGET_SESSION_ATTRS)}"
        )
    for name in ("ssl_min_protocol_version", "ssl_max_protocol_version"):
        if name in query and query[name] not in _TLS_VERSIONS:
            raise ValueError(f"parameter {name!r} must be one of {', '.join(_TLS_VERSIONS)}")
    for name in _FILES:
        if name in query and not Path(query[name]).expanduser().is_file():
            raise ValueError(f"parameter {name!r}: no file at {short(query[name])}")
    _check_root_certificate(query)
    if "sslnegotiation" in query and query["sslnegotiation"] not in ("postgres", "direct"):
        raise ValueError("parameter 'sslnegotiation' must be postgres or direct")
    if "host" in query:
        _check_hosts(query["host"])
    if (
        "prepared_statement_cache_size" in query
        and not query["prepared_statement_cache_size"].isdigit()
    ):
        raise ValueError("parameter 'prepared_statement_cache_size' must be a whole number")
    for name in ("application_name", "options"):
        if name in query and not query[name].isprintable():
            raise ValueError(f"parameter {name!r} contains control characters")


def _check_hosts(value: str | tuple[str, ...]) -> None:
    """SQLAlchemy's `?host=`: a socket directory, `host` or `host:port`; with several hosts
    each one needs its port (SQLAlchemy refuses them otherwise)."""
    hosts = (value,) if isinstance(value, str) else value
    for host in hosts:
        if host.startswith("/"):
            continue  # a Unix socket directory (Cloud SQL's /cloudsql/project:region:instance)
        name, colon, port = host.rpartition(":")
        if not colon:
            if len(hosts) > 1:
                raise ValueError(
                    f"parameter 'host': with several hosts each needs its port ({short(host)})"
                )
            continue
        if not name or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"parameter 'host': {short(host)} is not host:port (1-65535)")


def _check_root_certificate(query: dict[str, Any]) -> None:
    """verify-ca / verify-full need a CA to verify against, as in libpq: sslrootcert,
    PGSSLROOTCERT or ~/.postgresql/root.crt; a given file must hold PEM certificates."""
    import os
    import ssl

    mode = (query.get("sslmode") or query.get("ssl") or os.environ.get("PGSSLMODE", "")).lower()
    root = query.get("sslrootcert") or os.environ.get("PGSSLROOTCERT")
    if root is None and mode in ("verify-ca", "verify-full"):
        default = Path("~/.postgresql/root.crt").expanduser()
        if not default.is_file():
            raise ValueError(
                f"sslmode={mode} needs the CA certificate to verify the server with: add "
                "sslrootcert=/path/to/ca.pem (your provider's CA bundle)"
            )
        root = str(default)
    if root is not None and "sslrootcert" in query:
        try:
            ssl.create_default_context(cafile=str(Path(root).expanduser()))
        except (ssl.SSLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise ValueError(
                f"parameter 'sslrootcert': {short(root)} holds no PEM certificate ({reason})"
            ) from None


def _connect_timeout(text: str) -> float:
    """libpq's connect_timeout: whole seconds; 0 means "wait forever", which we never do."""
    try:
        seconds = int(text)
    except ValueError:
        raise ValueError("parameter 'connect_timeout' must be a whole number of seconds") from None
    if not 0 < seconds <= 2_147_483:
        raise ValueError(
            "parameter 'connect_timeout' must be between 1 and 2147483 seconds "
            "(0, libpq's 'wait forever', is refused: a command never hangs)"
        )
    return float(seconds)


def connect_args(query: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The asyncpg keyword arguments for a checked query, and the names SQLAlchemy must drop
    from the URL (it would pass them to asyncpg.connect as keywords)."""
    args: dict[str, Any] = {}
    server_settings: dict[str, str] = {}
    dsn: dict[str, str] = {name: _one(query, name) for name in _DSN if name in query}
    if "sslmode" in dsn:
        dsn["sslmode"] = dsn["sslmode"].lower()
    if "ssl" in query:
        dsn["sslmode"] = _one(query, "ssl").lower()
    if dsn:
        # Only the parameters: host, port, user and database still come as keywords.
        args["dsn"] = "postgresql://?" + urlencode(dsn)
    if "connect_timeout" in query:
        args["timeout"] = _connect_timeout(_one(query, "connect_timeout"))
    for name in ("application_name", "options"):
        if name in query:
            server_settings[name] = _one(query, name)
    if server_settings:
        args["server_settings"] = server_settings
    dropped = [name for name in (*_DSN, *_TRANSLATED) if name in query]
    return args, dropped


# One query parameter as SQLAlchemy reads it: the name is percent-decoded (`pass%77ord` is
# `password`) and the value runs to the next "&" ("#" included: SQLAlchemy's URL has no fragment).
_QUERY_PARAMETER = re.compile(r"(?P<head>[?&](?P<name>[^=&]*)=)(?P<value>[^&]*)")


def _mask_parameter(match: re.Match[str]) -> str:
    from urllib.parse import unquote_plus

    if unquote_plus(match["name"]).strip().lower() in SECRET_PARAMETERS:
        return match["head"] + MASK
    return match[0]


def mask(url: str) -> str:
    """`url` with every password replaced by ***: the userinfo's and the `password=` /
    `sslpassword=` query parameters'. Text only: never raises, even on a malformed URL (a
    password holding an unencoded `@` or `/` is still masked whole)."""
    scheme, sep, rest = url.partition("://")
    if sep:
        at = rest.split("?", 1)[0].rfind("@")
        colon = rest.find(":")
        if at < 0 and colon >= 0:  # a "?" inside the password: where SQLAlchemy ends it
            at = rest.find("@", colon)
            at = -1 if "/" in rest[colon:at] else at
        if 0 <= colon < at and not set(rest[:colon]) & set("/@?"):
            rest = rest[: colon + 1] + (MASK if at > colon + 1 else "") + rest[at:]
        url = scheme + sep + rest
    return _QUERY_PARAMETER.sub(_mask_parameter, url)
