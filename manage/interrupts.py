"""SIGINT, SIGTERM and SIGHUP end a command the same way: cancel, clean up, say what stayed.

Containers, Kubernetes and CI runners stop a job with SIGTERM, a closed terminal sends SIGHUP.
Each of the three cancels the command's main task. The cancellation reaches the statement
being awaited: asyncpg then sends a cancel request to the server (PostgreSQL stops the
statement), the runner rolls back, releases its locks and disposes of the engine (each step
bounded in time, see manage/runner.py), and the command exits 130 / 143 / 129 with one line
saying what, if anything, was already committed (db/progress.py).

asyncio.run() installs its own SIGINT handler that does the same for Ctrl-C; ours replaces it
while the command's loop runs so that all three signals take one path.

Outside those windows (while the command is still loading: imports take the first second of
a run; between reading a password and the runner's event loop), install_early_handlers()
makes the three signals raise Interrupted too: one line and the envelope, not a silent death
(SIGTERM, SIGHUP) or typer's silent 130 (SIGINT). Once the command's result or error has been
reported (or the interactive shell runs), a signal ends the process as its default would.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# The shell's convention: 128 + the signal number.
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


_REPORTING = object()  # before any outcome is reported
_outcome: object = _REPORTING  # then the exit code reported, or None (the interactive shell)


def reported(exit_code: int | None) -> None:
    """The command's outcome (`exit_code`) is being reported: from here the first outcome
    stands, a later stop signal is ignored (no second line or envelope, no other exit code;
    all that is left is writing the outcome and exiting). None (the interactive shell):
    signals act as their defaults."""
    global _outcome
    _outcome = exit_code


def _early(signum: int, _frame: Any) -> None:
    global _outcome
    if _outcome is _REPORTING:
        # This signal decides the outcome from now on: one arriving while the Interrupted
        # travels up to its report (20 ms later, say) must not replace it.
        _outcome = EXIT_CODES[signal.Signals(signum)]
        raise Interrupted(signal.Signals(signum))
    if isinstance(_outcome, int):
        return  # the outcome is being written and the process ends with its code next
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install_early_handlers() -> None:
    """At process start: a stop signal outside the command's own windows is Interrupted
    until the outcome is reported."""
    for signum in HANDLED:
        with contextlib.suppress(ValueError, OSError):  # not the main thread; no such signal
            if signal.getsignal(signum) is not signal.SIG_IGN:  # nohup, `cmd &` in a script
                signal.signal(signum, _early)


class Interrupted(BaseException):
    """The command was stopped by a signal; its cleanup has run. BaseException, like
    KeyboardInterrupt, so no `except Exception` on the way up swallows it."""

    def __init__(self, signum: signal.Signals) -> None:
        super().__init__(signum.name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.signum]


def run(main: Callable[[], Awaitable[T]], *, on_signal: Callable[[], None] | None = None) -> T:
    """asyncio.run(main()) with SIGINT/SIGTERM/SIGHUP cancelling it; raises Interrupted after
    the coroutine's own cleanup (its `finally` blocks) has run. `on_signal` runs first, in the
    loop (e.g. interrupting statements a cancellation cannot reach)."""
    import asyncio

    received: list[signal.Signals] = []

    async def guarded() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def handle(signum: signal.Signals) -> None:
            received.append(signum)
            if len(received) == 1:
                if on_signal is not None:
                    on_signal()
                task.cancel(f"interrupted by {signum.name}")
            # A second signal while cleaning up: the cleanup is bounded in time (runner),
            # so it is left to finish rather than cut short mid-ROLLBACK.

        installed: dict[signal.Signals, Any] = {}  # signal -> the handler it had before
        for signum in HANDLED:
            try:
                before = signal.getsignal(signum)
                loop.add_signal_handler(signum, handle, signum)
                installed[signum] = before
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread (tests) or no such signal on this platform
        try:
            return await main()
        except asyncio.CancelledError:
            if not received:
                # A guard that owned the signals for a while (db/review/scratch.py holds
                # them while it drops its scratch database) delivers the first one again on
                # its way out; its handler runs on the loop's next turns (and cancels this
                # task once more): let it run.
                for _ in range(5):
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.sleep(0)
                    if received:
                        break
            if received:
                _decided(received[0])
                raise Interrupted(received[0]) from None
            raise
        finally:
            _hand_back(loop, installed)

    try:
        return asyncio.run(guarded())
    except KeyboardInterrupt:
        # Ctrl-C before our handler was installed or after it was removed.
        raise Interrupted(signal.SIGINT) from None


def _decided(signum: signal.Signals) -> None:
    """The first signal ended the command: one arriving while its Interrupted travels up to
    the report (install_early_handlers' handler) is ignored, not a second outcome."""
    global _outcome
    if _outcome is _REPORTING:
        _outcome = EXIT_CODES[signum]


def _hand_back(loop: Any, installed: dict[signal.Signals, Any]) -> None:
    """Give each signal back the handler it had before the loop took it. The loop's
    remove_signal_handler sets SIGTERM and SIGHUP to their defaults: a SIGTERM in the moment
    after that killed the process silently (-15) while the outcome was still to be reported.
    The signals are blocked across the swap and delivered, if any came, to the handler put
    back."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, list(installed)) if installed else None
    try:
        for signum, before in installed.items():
            loop.remove_signal_handler(signum)
            if before is not None:
                signal.signal(signum, before)
    finally:
        if blocked is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


@contextlib.contextmanager
def raising() -> Iterator[None]:
    """Outside the event loop (prompts, reading a password, writing the result): SIGINT,
    SIGTERM and SIGHUP raise Interrupted where the program is (SIGINT too, so that every
    stop signal takes one path: one error line, 130/143/129)."""

    def handle(signum: int, _frame: Any) -> None:
        raise Interrupted(signal.Signals(signum))

    previous = {}
    try:
        for signum in HANDLED:
            previous[signum] = signal.signal(signum, handle)
    except ValueError:  # not the main thread (tests): leave the defaults
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
