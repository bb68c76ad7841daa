"""A TCP proxy for tests that can stall or drop a database connection on cue.

asyncio, on 127.0.0.1 and an ephemeral port, in a thread of its own; it stops by itself after
`lifetime` seconds. It forwards bytes both ways until its trigger fires: a client message
(one read from the client socket) containing `on` (e.g. b"pg_sleep", b"INSERT INTO users",
b"COPY"), or the `after`-th client message. Then, on every connection:

- "stall": stops forwarding and keeps the sockets open (a frozen network or server: nothing
  is refused, nothing answers). New connections are accepted and never forwarded.
- "drop": closes both sides of the connection that carried the trigger (a lost connection).

    with FaultProxy(pg_url, mode="stall", on=b"FROM users") as proxy:
        run manage with DATABASE_URL=proxy.url ...
        assert proxy.triggered.is_set()
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

Mode = Literal["stall", "drop"]


class FaultProxy:
    def __init__(
        self,
        target_url: str,
        *,
        mode: Mode,
        on: bytes | None = None,
        after: int | None = None,
        lifetime: float = 120.0,
    ) -> None:
        parts = urlsplit(target_url)
        self._parts = parts
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.mode = mode
        self.on = on
        self.after = after
        self.lifetime = lifetime
        self.triggered = threading.Event()
        self.triggered_at = 0.0  # time.monotonic() when the trigger fired
        self.messages = 0
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """The target URL with the proxy's address in its place."""
        netloc = self._parts.netloc.rsplit("@", 1)
        userinfo = f"{netloc[0]}@" if len(netloc) == 2 else ""
        return urlunsplit(self._parts._replace(netloc=f"{userinfo}127.0.0.1:{self.port}"))

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await asyncio.wait_for(self._stop.wait(), self.lifetime)
        except TimeoutError:
            pass
        finally:
            server.close()
            for writer in list(self._writers):
                writer.close()

    async def _client(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._writers.add(client_w)
        if self.triggered.is_set() and self.mode == "stall":
            return  # accepted, never answered
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        self._writers.add(server_w)
        # When the proxy stops, end quietly (asyncio would log a cancelled handler).
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(
                self._pipe(client_r, server_w, client_w, from_client=True),
                self._pipe(server_r, client_w, server_w, from_client=False),
                return_exceptions=True,
            )

    def _fires(self, data: bytes) -> bool:
        self.messages += 1
        if self.on is not None and self.on in data:
            return True
        return self.after is not None and self.messages >= self.after

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        other: asyncio.StreamWriter,
        *,
        from_client: bool,
    ) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                writer.close()
                return
            if from_client and not self.triggered.is_set() and self._fires(data):
                self.triggered_at = time.monotonic()
                self.triggered.set()
            if self.triggered.is_set():
                if self.mode == "drop":
                    writer.close()
                    other.close()
                    return
                await asyncio.Event().wait()  # stall: read nothing more, forward nothing
            writer.write(data)
            await writer.drain()
