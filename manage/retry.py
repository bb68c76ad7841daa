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
) -> T:
    """Call `attempt` until `done(result)` or `seconds` pass; then return the last result or
    raise the last "unavailable" error. Other errors are raised at once."""
    deadline = time.monotonic() + seconds
    delay = first_delay
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            if not _retryable(exc) or time.monotonic() + delay > deadline:
                raise
        else:
            if done(result) or time.monotonic() + delay > deadline:
                return result
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)
