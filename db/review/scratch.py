"""The roundtrip's scratch database: created for one review, always dropped after it.

SQLite: a file in a new temporary directory (deleted after). PostgreSQL: a database named
`manage_review_<host>_<pid>_<unix time>_<random>` on the configured server, created and dropped
through the configured user (which needs CREATEDB); the configured database is never touched.

The drop runs in `finally`, shielded from cancellation and with SIGINT/SIGTERM/SIGHUP held
(`signals_held`), so Ctrl-C, a second or fourth Ctrl-C during the drop, and SIGTERM/SIGHUP once
the runner turns them into cancellation still drop it; the drop is bounded by
DB_CONNECT_TIMEOUT. If the drop itself fails on an interrupted run, the interruption's message
names the database left behind instead of "nothing committed". A run killed outright (SIGKILL, power
loss) leaves its database behind: each `--roundtrip` first sweeps scratch databases whose owning
process on this host is gone, or that are older than `STALE_AFTER` seconds (any host). Nothing
that does not match the name pattern is ever dropped. Every admin connection honours
DB_CONNECT_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

PREFIX = "manage_review_"
STALE_AFTER = 6 * 3600  # seconds: a scratch database this old is left over, whoever made it
_NAME = re.compile(rf"^{PREFIX}([0-9a-f]{{6}})_(\d+)_(\d+)_[0-9a-f]{{6}}$")


def host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def scratch_name(*, pid: int | None = None, now: float | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    stamp = int(time.time() if now is None else now)
    return f"{PREFIX}{host_tag()}_{pid}_{stamp}_{uuid.uuid4().hex[:6]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def is_stale(name: str, *, now: float | None = None) -> bool:
    """Whether `name` is a scratch database whose run is over (never true for other names)."""
    match = _NAME.match(name)
    if match is None:
        return False
    host, pid, stamp = match.group(1), int(match.group(2)), int(match.group(3))
    if (time.time() if now is None else now) - stamp > STALE_AFTER:
        return True
    return host == host_tag() and pid != os.getpid() and not _alive(pid)


async def _finish(cleanup: Callable[[], Awaitable[object]]) -> BaseException | None:
    """Run `cleanup` to the end even if this task is cancelled again meanwhile; its error."""
    task = asyncio.ensure_future(cleanup())
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            continue  # the cancellation that brought us here is re-raised by the caller
        except Exception:
            break
    return task.exception() if task.done() and not task.cancelled() else None


_HELD = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class SignalGuard:
    """SIGINT/SIGTERM/SIGHUP while a scratch database exists (see `signals_held`)."""

    def __init__(self, task: asyncio.Task | None) -> None:
        self.task = task
        self.received: list[int] = []
        self.cleaning = False  # True once the drop started: signals are only recorded

    def handle(self, signum: int, _frame: object) -> None:
        self.received.append(signum)
        if len(self.received) == 1 and not self.cleaning and self.task is not None:
            self.task.cancel()  # what asyncio's own SIGINT handler does on the first one
            self.task.get_loop().call_soon_threadsafe(lambda: None)  # wake a blocked select()


@contextmanager
def signals_held() -> Iterator[SignalGuard]:
    """Own SIGINT/SIGTERM/SIGHUP while a scratch database exists, so its drop cannot be cut.

    The first signal cancels the current task (the roundtrip stops, its `finally` drops the
    database); every later one is only recorded, so a second Ctrl-C cannot raise
    KeyboardInterrupt into the drop (asyncio's handler does on the second SIGINT), nor can
    SIGTERM end the process mid-drop. Python-level handlers are swapped and the wakeup fd
    (through which `loop.add_signal_handler` handlers fire) detached; on exit both are put
    back and the first signal is delivered again to them, so the run ends with that signal's
    exit code (130, 143, 129). Outside the main thread: holds nothing.
    """
    try:
        task = asyncio.current_task()
    except RuntimeError:
        task = None
    guard = SignalGuard(task)
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    previous = {sig: signal.signal(sig, guard.handle) for sig in _HELD}
    wakeup = signal.set_wakeup_fd(-1)
    try:
        yield guard
    finally:
        guard.cleaning = True
        if wakeup != -1:
            signal.set_wakeup_fd(wakeup)
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        if guard.received:
            signal.raise_signal(guard.received[0])


@asynccontextmanager
async def scratch_database(
    url: str, *, connect_timeout: float = 5.0, notes: list[str] | None = None
) -> AsyncIterator[str]:
    """A new, empty database like the one at `url`; dropped (or deleted) on the way out."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    base = make_url(url)
    if base.get_backend_name() == "sqlite":
        with signals_held() as guard:
            directory = tempfile.mkdtemp(prefix="manage-review-")
            try:
                yield f"sqlite+aiosqlite:///{directory}/review.db"
            finally:
                guard.cleaning = True
                shutil.rmtree(directory, ignore_errors=True)
        return

    async def admin(statements: list[str], database: str | None) -> list[str]:
        engine = create_async_engine(
            base.set(database=database),
            isolation_level="AUTOCOMMIT",
            poolclass=NullPool,
            connect_args={"timeout": connect_timeout},
            hide_parameters=True,  # like every engine (db/engine.py)
        )
        try:
            async with engine.connect() as connection:
                names = [
                    row[0]
                    for row in await connection.execute(
                        text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                        {"p": PREFIX + "%"},
                    )
                ]
                for statement in statements:
                    await connection.execute(text(statement))
                return names
        finally:
            await engine.dispose()

    async def run(statements: list[str]) -> list[str]:
        try:
            return await admin(statements, base.database)
        except Exception as exc:  # the configured database may not exist yet
            if "does not exist" not in str(exc):
                raise
            return await admin(statements, "postgres")

    name = scratch_name()
    interrupted, exists = False, True  # "exists": it may; only a failed CREATE says no
    with signals_held() as guard:
        try:
            try:
                existing = await run([f'CREATE DATABASE "{name}"'])
            except Exception:
                exists = False  # refused or unreachable: nothing to drop, no second timeout
                raise
            stale = [n for n in existing if is_stale(n)]
            if stale:
                try:  # the sweep is housekeeping: it never fails the review
                    await run([f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in stale])
                    swept = f"dropped {len(stale)} scratch database(s) left by killed reviews: "
                except Exception as exc:
                    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    swept = f"could not drop scratch databases left by killed reviews ({reason}): "
                if notes is not None:
                    notes.append(swept + ", ".join(stale))
            yield base.set(database=name).render_as_string(hide_password=False)
        except (asyncio.CancelledError, KeyboardInterrupt):
            interrupted = True
            raise
        finally:  # also when CREATE was cut short: it may have happened
            guard.cleaning = True
            drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            failed = await _finish(lambda: run([drop])) if exists else None
            if failed is not None:
                reason = (str(failed).strip().splitlines() or [type(failed).__name__])[0]
                left = (
                    f"could not drop scratch database {name} ({reason}); "
                    "the next --roundtrip drops it"
                )
                if interrupted:  # the run ends on the interruption: its message says so
                    raise asyncio.CancelledError(f"interrupted; {left}") from None
                if notes is not None:
                    notes.append(left)
