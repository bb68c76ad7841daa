"""What a multi-step command has already committed, for the message an interruption prints.

Most commands run in one transaction: interrupted, nothing of theirs stays. Some commit in
steps: `migrate upgrade` / `downgrade` commit once per revision on PostgreSQL
(`transaction_per_migration`), `db init` migrates, then seeds. When such a command is
interrupted the user must learn what stayed, never read "nothing committed" when that is
false.

Code that finishes a step calls `step_done(kind, name)` inside its transaction and
`steps_committed()` once the COMMIT returned; `track(connection)` does the bookkeeping from a
connection's own begin/commit/rollback events. A step whose COMMIT was sent but never
answered is reported as "may have been committed"; one rolled back before its COMMIT was
sent is dropped. The runner calls `reset()` at each command start and reads
`ledger()` when the command fails. One command runs per process (Alembic's module globals
already require it), so the ledger is a module global, also visible inside the greenlet that
`AsyncConnection.run_sync` uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Ledger:
    """Steps confirmed committed, and steps done whose COMMIT was not confirmed yet."""

    committed: list[tuple[str, str]] = field(default_factory=list)
    unconfirmed: list[tuple[str, str]] = field(default_factory=list)
    rolled_back: list[tuple[str, str]] = field(default_factory=list)
    commit_sent: bool = False

    def describe(self) -> str:
        """`committed: revisions a1, b2` or `nothing committed`, then what did not stay:
        steps done in a transaction never committed are rolled back; a step whose COMMIT
        was sent but not answered may or may not have stayed."""
        in_doubt = bool(self.unconfirmed and self.commit_sent)
        parts = []
        if self.committed:
            parts.append(f"committed: {_grouped(self.committed)}")
        elif not in_doubt:  # "nothing committed" next to "may have been committed" is false
            parts.append("nothing committed")
        if in_doubt:
            parts.append(
                f"{_grouped(self.unconfirmed)} may have been committed (the COMMIT was under way)"
            )
        lost = self.rolled_back + ([] if self.commit_sent else self.unconfirmed)
        lost = [step for step in lost if step[0]]  # named steps only
        if lost:
            parts.append(f"rolled back: {_grouped(lost)}")
        return "; ".join(parts)

    def stayed(self) -> str | None:
        """What stays of a failed run, for its error line: `committed: revisions a1, b2` and
        a step whose COMMIT went unanswered; None when nothing committed."""
        parts = [f"committed: {_grouped(self.committed)}"] if self.committed else []
        if self.unconfirmed and self.commit_sent:
            parts.append(
                f"{_grouped(self.unconfirmed)} may have been committed (the COMMIT was under way)"
            )
        return "; ".join(parts) or None


def _grouped(steps: list[tuple[str, str]]) -> str:
    """[("revision", "a1"), ("revision", "b2"), ("", "the seeds")] ->
    "revisions a1, b2, the seeds" (an empty kind is a free-form step)."""
    groups: dict[str, list[str]] = {}
    for kind, name in steps:
        groups.setdefault(kind, []).append(name)
    return ", ".join(
        _named(kind, names) if kind else ", ".join(names) for kind, names in groups.items()
    )


def _named(kind: str, names: list[str]) -> str:
    """ "revision a1", "revisions a1, b2, c3", and from four on, in the order they ran (the
    line stays one short line): "6 revisions 3f2d9d9930a0 to b4c1f11a0002"."""
    if len(names) > 3:
        return f"{len(names)} {kind}s {names[0]} to {names[-1]}"
    return f"{kind}{'s' if len(names) > 1 else ''} {', '.join(names)}"


_ledger = Ledger()


def reset() -> Ledger:
    """A fresh ledger for a new command."""
    global _ledger
    _ledger = Ledger()
    return _ledger


def ledger() -> Ledger:
    return _ledger


def step_done(kind: str, name: str) -> None:
    """A step's work is done and its COMMIT is about to be sent (or is part of a later one)."""
    _ledger.unconfirmed.append((kind, name))


def commit_sent() -> None:
    """A COMMIT is being sent: from now on its outcome is unknown until it returns."""
    if _ledger.unconfirmed:
        _ledger.commit_sent = True


def steps_committed() -> None:
    """A COMMIT returned: every step done so far is committed."""
    _ledger.committed.extend(_ledger.unconfirmed)
    _ledger.unconfirmed.clear()
    _ledger.commit_sent = False


def steps_rolled_back() -> None:
    """A ROLLBACK: the unconfirmed steps did not stay, unless their COMMIT had been sent."""
    if not _ledger.commit_sent:
        _ledger.rolled_back.extend(_ledger.unconfirmed)
        _ledger.unconfirmed.clear()


def track(connection: Any) -> None:
    """Follow a sync Connection's transactions: a BEGIN after a COMMIT was sent means that
    COMMIT returned; a ROLLBACK drops the steps of a transaction never committed."""
    from sqlalchemy import event

    def on_begin(_conn: Any) -> None:
        if _ledger.commit_sent:
            steps_committed()

    event.listen(connection, "begin", on_begin)
    event.listen(connection, "commit", lambda _conn: commit_sent())
    event.listen(connection, "rollback", lambda _conn: steps_rolled_back())
