"""The production guard follows the host the driver will really use (issue 15, finding 6).

A DATABASE_URL without a host is not "this machine" by itself: asyncpg then takes the host
from `?host=`, the PGSERVICE service file, or PGHOST. With ENVIRONMENT unset, a remote host
from any of those turns the guard on. The guard refuses before connecting, so 192.0.2.2
(TEST-NET-1) is never contacted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NO_HOST = "postgresql+asyncpg://postgres@/app"


@pytest.mark.parametrize(
    ("url", "env", "local"),
    [
        (NO_HOST, {}, True),  # the socket directories, then localhost
        (NO_HOST, {"PGHOST": "192.0.2.2"}, False),
        (NO_HOST, {"PGHOST": "db.example.com:5433"}, False),
        (NO_HOST, {"PGHOST": "localhost,192.0.2.2"}, False),
        (NO_HOST, {"PGHOST": "127.0.0.1"}, True),
        (NO_HOST, {"PGHOST": "[::1]:5432"}, True),
        (NO_HOST, {"PGHOST": "/var/run/postgresql"}, True),
        (NO_HOST, {"PGHOST": "/tmp,localhost"}, True),
        (NO_HOST, {"PGHOSTADDR": "192.0.2.2"}, False),
        ("postgresql+asyncpg://postgres@localhost/app", {"PGHOSTADDR": "192.0.2.2"}, False),
        ("postgresql+asyncpg://postgres@localhost/app", {"PGHOST": "192.0.2.2"}, True),
        ("postgresql+asyncpg:///app?host=/run/postgresql", {"PGHOST": "192.0.2.2"}, True),
        ("postgresql+asyncpg:///app?hostaddr=192.0.2.2", {}, False),
    ],
)
def test_a_url_without_a_host_is_local_only_if_the_drivers_host_is(url, env, local) -> None:
    from app.config import is_local_database

    assert is_local_database(url, env) is local


@pytest.mark.parametrize(("host", "local"), [("192.0.2.2", False), ("127.0.0.1", True)])
def test_the_service_file_host_counts(tmp_path, host, local) -> None:
    from app.config import is_local_database

    services = Path(tmp_path) / "pg_service.conf"
    services.write_text(f"[prod]\nhost={host}\ndbname=app\n")
    env = {"PGSERVICEFILE": str(services), "PGHOST": "127.0.0.1"}

    assert is_local_database(NO_HOST, {**env, "PGSERVICE": "prod"}) is local
    assert is_local_database(f"{NO_HOST}?service=prod", env) is local
    # A service without a host falls through to PGHOST, as in asyncpg.
    assert is_local_database(NO_HOST, {**env, "PGSERVICE": "other"}) is True


@pytest.mark.parametrize("variable", ["PGHOST", "PGHOSTADDR"])
def test_delete_with_pghost_remote_and_environment_unset_is_refused(manage_proc, variable) -> None:
    refused = manage_proc(
        ["users", "delete", "ann@example.com", "--yes"],
        db="postgresql+asyncpg://postgres@/app",
        env={variable: "192.0.2.2", "DB_CONNECT_TIMEOUT": "2"},
        timeout=60,
    )

    assert refused.exit_code == 7, refused.stderr
    assert refused.stderr.strip() == (
        "error: refusing to delete user ann@example.com in production without a terminal: "
        "add --force"
    )


def test_db_reset_with_pghost_remote_is_refused(manage_proc) -> None:
    refused = manage_proc(
        ["db", "reset", "--yes"],
        db="postgresql+asyncpg://postgres@/app",
        env={"PGHOST": "192.0.2.2", "DB_CONNECT_TIMEOUT": "2"},
        timeout=60,
    )

    assert refused.exit_code == 7, refused.stderr
    assert "in production" in refused.stderr
