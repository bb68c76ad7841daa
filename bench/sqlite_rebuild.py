"""Cost of the SQLite foreign-key safety around a table rebuild (db/sqlite_foreign_keys.py).

Usage: .venv/bin/python bench/sqlite_rebuild.py [--users N] [--runs N]

A SQLite database at the shipped head gets N users, one role and N memberships; then one revision
rebuilds `users` (batch mode: widen full_name), the case that used to cascade every membership
away. Timed per run on a fresh copy of that database, interleaved in this one run:
- manage: `migrations.upgrade` as shipped (enforcement off, `PRAGMA foreign_key_check` before and
  after the revisions);
- baseline: the same with the two checks skipped (enforcement still off: without it the rebuild
  loses the memberships, so that is no baseline).
Prints medians and the ratio, and that every membership survived.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.migrations_fixtures.extra_revisions import (  # noqa: E402
    SHIPPED_HEAD,
    WIDEN_FULL_NAME,
    shipped_copy,
)


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _upgrade(path: Path, target: str) -> None:
    from db import migrations
    from db.config import DatabaseSettings
    from db.engine import create_engine

    engine = create_engine(DatabaseSettings(database_url=_url(path)), pooled=False)
    try:
        await migrations.upgrade(engine, target)
    finally:
        await engine.dispose()


def _populate(path: Path, users: int) -> None:
    now = "2026-01-01 00:00:00"
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO users (id, email, hashed_password, is_active, is_superuser, created_at,"
            " updated_at) VALUES (?, ?, 'x', 1, 0, ?, ?)",
            ((i, f"u{i}@example.com", now, now) for i in range(1, users + 1)),
        )
        db.execute(
            "INSERT INTO roles (id, name, description, created_at) VALUES (1, 'r', '', ?)", (now,)
        )
        db.executemany(
            "INSERT INTO user_roles (user_id, role_id) VALUES (?, 1)",
            ((i,) for i in range(1, users + 1)),
        )


def _timed(template: Path, work: Path, checked: bool) -> tuple[float, int]:
    from db import sqlite_foreign_keys

    copy = work / ("checked.db" if checked else "baseline.db")
    shutil.copyfile(template, copy)
    original = sqlite_foreign_keys.violations
    if not checked:
        sqlite_foreign_keys.violations = lambda _connection: []  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        asyncio.run(_upgrade(copy, "head"))
        elapsed = time.perf_counter() - started
    finally:
        sqlite_foreign_keys.violations = original  # type: ignore[assignment]
    with sqlite3.connect(copy) as db:
        memberships = db.execute("SELECT count(*) FROM user_roles").fetchone()[0]
    return elapsed, memberships


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["MANAGE_MIGRATIONS_DIR"] = str(shipped_copy(work, ("w0000001", WIDEN_FULL_NAME)))
        template = work / "template.db"
        asyncio.run(_upgrade(template, SHIPPED_HEAD))
        _populate(template, args.users)
        times: dict[bool, list[float]] = {True: [], False: []}
        kept: set[int] = set()
        for _ in range(args.runs):
            for checked in (True, False):
                elapsed, memberships = _timed(template, work, checked)
                times[checked].append(elapsed)
                kept.add(memberships)
    manage, baseline = statistics.median(times[True]), statistics.median(times[False])
    print(f"users rebuild on SQLite with {args.users} users and memberships, {args.runs} runs")
    print(f"  manage (checks before and after)  median {manage:.3f} s")
    print(f"  baseline (no foreign_key_check)   median {baseline:.3f} s")
    print(f"  ratio manage/baseline: {manage / baseline:.2f}")
    print(f"  memberships after each run: {sorted(kept)} (expected [{args.users}])")


if __name__ == "__main__":
    main()
