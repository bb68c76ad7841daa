"""TLS failures keep the driver's reason: a server whose certificate does not verify is exit 6
with "certificate verify failed: ...", not the bare class name.

A real TLS endpoint on 127.0.0.1: it answers PostgreSQL's SSLRequest with 'S' and completes the
handshake with a certificate made for this test (openssl), signed by nobody the client trusts.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import subprocess
import threading
from pathlib import Path

import pytest


def self_signed(folder: Path, name: str, cn: str) -> tuple[Path, Path]:
    """A self-signed certificate and its key, made by the openssl command."""
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={cn}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


class TlsEndpoint:
    """Accepts the SSLRequest, then TLS with `cert`; closes after the handshake (60 s at most)."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readexactly(8)  # SSLRequest: length 8, code 80877103
            writer.write(b"S")
            await writer.drain()
            await writer.start_tls(self.context)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), 60)
        server.close()

    def __enter__(self) -> TlsEndpoint:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize("sslmode", ["verify-ca", "verify-full"])
def test_a_certificate_that_does_not_verify_is_exit_6_with_the_reason(
    cli, tmp_path, sslmode
) -> None:
    server_cert, server_key = self_signed(tmp_path, "server", "127.0.0.1")
    trusted_ca, _ = self_signed(tmp_path, "ca", "some other CA")
    with TlsEndpoint(server_cert, server_key) as endpoint:
        url = (
            f"postgresql://ops:hunter2@127.0.0.1:{endpoint.port}/app"
            f"?sslmode={sslmode}&sslrootcert={trusted_ca}"
        )
        outcome = cli(["users", "list"], env={"DATABASE_URL": url, "DB_CONNECT_TIMEOUT": "10"})
    assert outcome.exit_code == 6, outcome.stderr
    (line,) = outcome.stderr.splitlines()
    assert "certificate verify failed: " in line
    assert "hunter2" not in line
