"""Login throttling: wrong passwords counted per account and per client address.

`max_failures` wrong passwords for one account (from any address) within `window` seconds
lock that account for `lockout` seconds; `max_failures_per_address` wrong passwords from one
address (for any accounts) lock that address. While locked, logins are refused before any
password is checked (the API answers 429 with Retry-After), so guessing costs no CPU.
Unknown emails count like known ones, so a 429 says nothing about which accounts exist.

State lives in this process (one throttle per API app): with several workers each counts on
its own, so the effective limit is the per-worker limit times the workers.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Lockout:
    """A lockout that just started: `scope` "account" or "address", `key` the email or address."""

    scope: str
    key: str
    failures: int
    seconds: int


@dataclass
class _Entry:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class LoginThrottle:
    """Counts wrong passwords and locks accounts and addresses (see the module docstring).

    `max_keys` bounds memory: beyond it the least recently failed keys are forgotten.
    `clock` returns seconds (monotonic); tests pass their own.
    """

    def __init__(
        self,
        *,
        max_failures: int,
        max_failures_per_address: int,
        window: float,
        lockout: float,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"account": max_failures, "address": max_failures_per_address}
        self._window = window
        self._lockout = lockout
        self._max_keys = max_keys
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()

    def retry_after(self, *, account: str, address: str) -> int | None:
        """Whole seconds until a login for `account` from `address` is allowed; None: now."""
        now = self._clock()
        waits = [
            entry.locked_until - now
            for key in self._keys(account, address)
            if (entry := self._entries.get(key)) is not None and entry.locked_until > now
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, *, account: str, address: str) -> list[Lockout]:
        """Count one wrong password; return the lockouts this failure started."""
        now = self._clock()
        started = []
        for key in self._keys(account, address):
            entry = self._entries.pop(key, None) or _Entry()
            self._entries[key] = entry  # most recently failed last
            entry.failures.append(now)
            while entry.failures and entry.failures[0] <= now - self._window:
                entry.failures.popleft()
            scope, name = key
            if len(entry.failures) >= self._limits[scope] and entry.locked_until <= now:
                entry.locked_until = now + self._lockout
                started.append(Lockout(scope, name, len(entry.failures), int(self._lockout)))
                entry.failures.clear()
        while len(self._entries) > self._max_keys:
            self._entries.popitem(last=False)
        return started

    def succeeded(self, *, account: str) -> None:
        """A correct password: the account's count starts again (the address's does not)."""
        self._entries.pop(("account", account), None)

    @staticmethod
    def _keys(account: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("account", account), ("address", address)
