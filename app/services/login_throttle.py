"""Login throttling: wrong passwords counted per account and per client address.

`max_failures` wrong passwords for one account (from any address) within `window` seconds
lock that account for `lockout` seconds; `max_failures_per_address` wrong passwords from one
address (for any accounts) lock that address. While locked, logins are refused before any
password is checked (the API answers 429 with Retry-After), so guessing costs no CPU.
Unknown emails count like known ones, so a 429 says nothing about which accounts exist.

An attempt is reserved (`reserve`) BEFORE its password is checked and counts against both
limits while in flight, so attempts that arrive together cannot all be checked: at most
`max_failures` password checks per account (and `max_failures_per_address` per address) run
per window, however many requests arrive at once. An attempt refused only because the limit
is taken by attempts still in flight is told to retry after 1 second. A correct password
clears the account's failure count but never a lockout (one started concurrently stays).

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
    pending: int = 0  # reserved attempts whose password check has not finished


class Reservation:
    """One reserved login attempt; end it with exactly one of failed/succeeded/release
    (later calls do nothing), so an attempt that crashes frees its slot."""

    def __init__(self, throttle: LoginThrottle, account: str, address: str) -> None:
        self._throttle, self._account, self._address = throttle, account, address
        self._open = True

    def failed(self) -> list[Lockout]:
        """A wrong password: count it; the lockouts it started."""
        if not self._close():
            return []
        return self._throttle.failed(account=self._account, address=self._address)

    def succeeded(self) -> None:
        """A correct password: the account's failure count starts again (a lockout stays)."""
        if self._close():
            self._throttle.succeeded(account=self._account)

    def release(self) -> None:
        """Neither (the attempt ended otherwise): just free the slot."""
        self._close()

    def _close(self) -> bool:
        if not self._open:
            return False
        self._open = False
        for key in self._throttle._keys(self._account, self._address):
            entry = self._throttle._entries.get(key)
            if entry is not None and entry.pending > 0:
                entry.pending -= 1
        return True


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

    def reserve(self, *, account: str, address: str) -> Reservation | int:
        """Reserve one password check for `account` from `address`, or the whole seconds to
        wait (>= 1) when either is locked or its limit is taken by failures and attempts in
        flight. Nothing awaits between the check and the reservation (one event loop)."""
        wait = self.retry_after(account=account, address=address)
        if wait is not None:
            return wait
        now = self._clock()
        keys = self._keys(account, address)
        for key in keys:
            entry = self._entries.get(key)
            if entry is None:
                continue
            self._expire(entry, now)
            if len(entry.failures) + entry.pending >= self._limits[key[0]]:
                return 1  # the limit is taken by attempts in flight
        for key in keys:
            entry = self._entries.pop(key, None) or _Entry()
            self._entries[key] = entry
            entry.pending += 1
        self._evict()
        return Reservation(self, account, address)

    def _expire(self, entry: _Entry, now: float) -> None:
        while entry.failures and entry.failures[0] <= now - self._window:
            entry.failures.popleft()

    def _evict(self) -> None:
        while len(self._entries) > self._max_keys:
            self._entries.popitem(last=False)

    def failed(self, *, account: str, address: str) -> list[Lockout]:
        """Count one wrong password; return the lockouts this failure started."""
        now = self._clock()
        started = []
        for key in self._keys(account, address):
            entry = self._entries.pop(key, None) or _Entry()
            self._entries[key] = entry  # most recently failed last
            entry.failures.append(now)
            self._expire(entry, now)
            scope, name = key
            if len(entry.failures) >= self._limits[scope] and entry.locked_until <= now:
                entry.locked_until = now + self._lockout
                started.append(Lockout(scope, name, len(entry.failures), int(self._lockout)))
                entry.failures.clear()
        self._evict()
        return started

    def succeeded(self, *, account: str) -> None:
        """A correct password: the account's count starts again (the address's does not).

        Only the count: a lockout started meanwhile by concurrent wrong passwords stays."""
        entry = self._entries.get(("account", account))
        if entry is not None:
            entry.failures.clear()

    @staticmethod
    def _keys(account: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("account", account), ("address", address)
