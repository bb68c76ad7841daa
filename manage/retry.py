"""Retry a database step until it succeeds or a deadline passes (for --wait options)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def _retryable(exc: BaseException) -> bool:
    from manage.errors import classify
    from manage.exit_codes import ExitCode

    return classify(exc).exit_code is ExitCode.UNAVAILABLE


async def until_deadline(
    attempt: Callable[[], Awaitable[T]],
    *,
    seconds: float,
    done: Callable[[T], bool] = lambda _: True,
    first_delay: float = 0.25,
    max_delay: float = 2.0,
    min_attempt: float = 5.0,
    what: str = "--wait",
) -> T:
    """Call `attempt` until `done(result)` or `seconds` pass; then return the last result or
    raise the last "unavailable" error. Other errors are raised at once.

    A real deadline: an attempt that hangs (a stalled network) is cut off when the wait ends,
    though each attempt gets at least `min_attempt` seconds (DB_CONNECT_TIMEOUT: `--wait 0`
    still tries once); then DatabaseUnavailable (DB_TIMEOUT) names `what` ran out.
    """
    from db.errors import DatabaseUnavailable, InvalidArgument
    from db.stalls import deadline_bound

    if not seconds >= 0:  # nan: no deadline would ever pass
        raise InvalidArgument(f"{what} must be a number of seconds, not {seconds}")
    deadline = time.monotonic() + seconds
    delay = first_delay
    while True:
        budget = max(deadline - time.monotonic(), min_attempt)
        try:
            async with asyncio.timeout(budget):
                with deadline_bound():
                    result = await attempt()
        except TimeoutError:
            limit = f"{what} {seconds:g}s" if seconds >= min_attempt else f"{min_attempt:g}s"
            raise DatabaseUnavailable(
                f"database unavailable: timed out: no answer within {limit}; the network or the "
                "server stalled",
                code="DB_TIMEOUT",
            ) from None
        except Exception as exc:
            if not _retryable(exc) or time.monotonic() + delay > deadline:
                raise
        else:
            if done(result) or time.monotonic() + delay > deadline:
                return result
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)
