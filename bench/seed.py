"""Bulk seeding speed on PostgreSQL: `manage seed fake users` against raw COPY and the ORM.

Usage: .venv/bin/python bench/seed.py [--rows 100000] [--big 1000000] [--orm-rows N] [--repeat 3]

Measured in one run, each in a fresh scratch database (dropped at the end):
- `manage seed fake users --count ROWS` as a subprocess (wall time, start-up included);
- raw asyncpg `copy_records_to_table` of the same rows straight into `users`;
- an ORM `session.add_all()` + commit of the same rows;
- the rerun (same --seed: every row exists and is skipped);
- peak RSS of the `manage` process for BIG rows (os.wait4's rusage for that child alone).
The fast figures are the best of --repeat runs; a CHECKPOINT precedes each step.
Targets (issue 7): >= 0.5 x raw COPY, >= 5 x ORM add_all, rerun faster than the first run,
peak RSS < 300 MB. Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
MANAGE = Path(sys.executable).with_name("manage")
ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-password-1234"
SEED = 1


def url_for(name: str) -> str:
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"


async def admin(*statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_URL)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def env_for(url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "MANAGE_PASSWORD": PASSWORD}


def new_database(names: list[str]) -> str:
    name = f"seed_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    names.append(name)
    url = url_for(name)
    subprocess.run(
        [str(MANAGE), "migrate", "upgrade"], env=env_for(url), check=True, stdout=subprocess.DEVNULL
    )
    return url


# A small process that runs `manage` and reports its rusage: ru_maxrss survives fork and
# exec, so a child started straight from this (large) process would report our size.
HELPER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
output = proc.stdout.read()
_, status, usage = os.wait4(proc.pid, 0)
print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "wall": time.perf_counter() - started,
                  "rss_kib": usage.ru_maxrss, "output": output.decode()}))
"""


def manage_fake(url: str, rows: int) -> tuple[float, float, int]:
    """Wall seconds, the command's own seconds, and peak RSS (KiB) of one `manage` run."""
    argv = [str(MANAGE), "seed", "fake", "users", "--count", str(rows), "--seed", str(SEED)]
    helper = subprocess.run(
        [sys.executable, "-c", HELPER, *argv, "--json"],
        env=env_for(url),
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(helper.stdout)
    if report["exit"] != 0:
        raise SystemExit(f"manage failed with exit {report['exit']}")
    seconds = json.loads(report["output"])["data"]["seconds"]
    return report["wall"], seconds, report["rss_kib"]


def settle() -> None:
    """Flush dirty buffers first, so one step's writes do not slow the next one down."""
    asyncio.run(admin("CHECKPOINT"))


def drop(names: list[str]) -> None:
    if names:
        asyncio.run(admin(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names)))
        names.clear()


def rows_for(count: int) -> list[tuple]:
    from app.models._columns import utcnow
    from app.security import hash_password
    from app.services.fake_users import fake_rows

    return list(fake_rows(count, seed=SEED, hashed_password=hash_password(PASSWORD), now=utcnow()))


async def raw_copy(url: str, rows: list[tuple]) -> float:
    import asyncpg

    from app.services.fake_users import COLUMNS

    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table("users", records=rows, columns=COLUMNS)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def orm_add_all(url: str, rows: list[tuple]) -> float:
    from app.models import User
    from app.services.fake_users import COLUMNS
    from db.config import DatabaseSettings
    from db.engine import create_engine, session_factory

    engine = create_engine(DatabaseSettings(database_url=url))
    try:
        started = time.perf_counter()
        async with session_factory(engine)() as session:
            session.add_all(User(**dict(zip(COLUMNS, row, strict=True))) for row in rows)
            await session.commit()
        return time.perf_counter() - started
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--orm-rows", type=int, default=None, help="default: --rows")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the fast figures")
    args = parser.parse_args()
    orm_rows = args.orm_rows or args.rows
    names: list[str] = []
    first, inside, rerun, rerun_inside, copies = [], [], [], [], []
    try:
        rows = rows_for(max(args.rows, orm_rows))
        for _ in range(args.repeat):
            url = new_database(names)
            settle()
            wall, seconds, _ = manage_fake(url, args.rows)
            first.append(wall)
            inside.append(seconds)
            settle()
            wall, seconds, _ = manage_fake(url, args.rows)
            rerun.append(wall)
            rerun_inside.append(seconds)
            url = new_database(names)
            settle()
            copies.append(asyncio.run(raw_copy(url, rows[: args.rows])))
            drop(names)
        url = new_database(names)
        settle()
        orm_seconds = asyncio.run(orm_add_all(url, rows[:orm_rows]))
        del rows
        drop(names)
        url = new_database(names)
        settle()
        big_seconds, _, big_rss = manage_fake(url, args.big)
    finally:
        drop(names)
    # Best of N: noise (other processes, checkpoints) only ever adds time.
    manage_seconds, inside_seconds, copy_seconds = min(first), min(inside), min(copies)
    rerun_seconds, rerun_inside = min(rerun), min(rerun_inside)

    rate = args.rows / manage_seconds
    inside_rate = args.rows / inside_seconds
    copy_rate = args.rows / copy_seconds
    orm_rate = orm_rows / orm_seconds
    where = ADMIN_URL.rsplit("@", 1)[-1]
    print(f"rows: {args.rows:,} (ORM: {orm_rows:,}); best of {args.repeat}; PostgreSQL at {where}")
    print(
        f"manage seed fake users   {manage_seconds:7.2f} s {rate:>10,.0f} rows/s"
        "  (subprocess wall time: start-up included)"
    )
    print(
        f"  of which the command   {inside_seconds:7.2f} s {inside_rate:>10,.0f} rows/s"
        "  (hash, generate, COPY to a temp table, INSERT of the new emails)"
    )
    print(
        f"raw asyncpg COPY         {copy_seconds:7.2f} s {copy_rate:>10,.0f} rows/s"
        "  (rows prebuilt in memory; COPY straight into users)"
    )
    print(f"ORM add_all + commit     {orm_seconds:7.2f} s {orm_rate:>10,.0f} rows/s")
    print(
        f"manage / raw COPY        {rate / copy_rate:7.2f} x wall, "
        f"{inside_rate / copy_rate:.2f} x command  (target >= 0.5)"
    )
    print(
        f"manage / ORM add_all     {rate / orm_rate:7.2f} x wall, "
        f"{inside_rate / orm_rate:.2f} x command  (target >= 5)"
    )
    print(
        f"rerun (all skipped)      {rerun_seconds:7.2f} s wall, {rerun_inside:.2f} s command "
        f"({rerun_seconds / manage_seconds:.2f} x the first run; target < 1)"
    )
    big_rate = args.big / big_seconds
    print(
        f"{args.big:,} rows          {big_seconds:7.2f} s {big_rate:>10,.0f} rows/s wall, "
        f"{big_rate / copy_rate:.2f} x raw COPY's rate (start-up amortized); "
        f"peak RSS {big_rss / 1024:,.0f} MB  (target < 300 MB)"
    )


if __name__ == "__main__":
    main()
