"""Backfill vs one plain UPDATE on PostgreSQL, with a concurrent writer on the same table.

Usage: .venv/bin/python bench/backfill.py [--rows 2000000] [--batch-size 10000]

One scratch database (dropped at the end) holds two identical tables of ROWS rows, bench_plain
and bench_backfill (id bigint primary key, qty, total NULL, touched). Measured in the same run:
1. one plain `UPDATE bench_plain SET total = qty * 2` (a single transaction);
2. `manage migrate backfill bench_total --batch-size N` (a subprocess, start-up included), whose
   declared SQL is the same update per key range of bench_backfill.
During each, a writer updates random rows of that table (`SET touched = touched + 1 WHERE id =
$1`, autocommit, one at a time) and records how long each of its statements took: the plain
UPDATE blocks it until the end; the backfill only for one batch at most.
Targets (issue 18): backfill throughput >= 0.5 x the plain UPDATE's; the writer's longest wait
during the backfill <= 1 s. Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANAGE = Path(sys.executable).with_name("manage")
ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

REVISION = '''"""bench: declare bench_total

Revision ID: bench000001
Revises: c5e7a1f20001
Create Date: 2026-11-30 15:00:00.000000

"""
from db.backfill import Backfill

revision = "bench000001"
down_revision = "c5e7a1f20001"
branch_labels = None
depends_on = None

bench_total = Backfill(
    name="bench_total",
    table="bench_backfill",
    key="id",
    sql="UPDATE bench_backfill SET total = qty * 2 WHERE id BETWEEN :lo AND :hi",
)


def upgrade() -> None:
    bench_total.declare()


def downgrade() -> None:
    bench_total.forget()
'''


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


async def create_tables(url: str, rows: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for table in ("bench_plain", "bench_backfill"):
            await conn.execute(
                f"CREATE TABLE {table} (id bigint PRIMARY KEY, qty integer NOT NULL, "
                "total integer, touched integer NOT NULL DEFAULT 0)"
            )
            await conn.execute(
                f"INSERT INTO {table} (id, qty) SELECT g, g % 1000 FROM generate_series(1, $1) g",
                rows,
            )
            await conn.execute(f"VACUUM ANALYZE {table}")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


class Writer:
    """Updates random rows of `table` one at a time; remembers its longest statement."""

    def __init__(self, url: str, table: str, rows: int) -> None:
        self.url, self.table, self.rows = url, table, rows
        self.max_wait = 0.0
        self.count = 0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.url)
        rng = random.Random(18)
        statement = f"UPDATE {self.table} SET touched = touched + 1 WHERE id = $1"
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                await conn.execute(statement, rng.randint(1, self.rows))
                self.max_wait = max(self.max_wait, time.monotonic() - started)
                self.count += 1
                await asyncio.sleep(0.005)
        finally:
            await conn.close()

    def stop(self) -> None:
        self._stop.set()


async def with_writer(url: str, table: str, rows: int, work) -> tuple[float, Writer, object]:
    writer = Writer(url, table, rows)
    task = asyncio.create_task(writer.run())
    await asyncio.sleep(0.5)  # the writer is running before the work starts
    started = time.monotonic()
    result = await work()
    elapsed = time.monotonic() - started
    writer.stop()
    await task
    return elapsed, writer, result


async def plain_update(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE bench_plain SET total = qty * 2")
    finally:
        await conn.close()


async def manage_backfill(env: dict[str, str], batch_size: int) -> dict:
    proc = await asyncio.create_subprocess_exec(
        str(MANAGE), "migrate", "backfill", "bench_total", "--batch-size", str(batch_size),
        "--json", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"manage migrate backfill failed ({proc.returncode}): {err.decode()}")
    return json.loads(out)["data"][0]


async def check_done(url: str, rows: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for table in ("bench_plain", "bench_backfill"):
            done = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE total IS NOT DISTINCT FROM qty * 2"
            )
            if done != rows:
                raise SystemExit(f"{table}: {done} of {rows} rows updated")
    finally:
        await conn.close()


async def main(rows: int, batch_size: int) -> None:
    name = f"backfill_bench_{uuid.uuid4().hex[:10]}"
    url = url_for(name)
    scripts = Path(tempfile.mkdtemp(prefix="bench_backfill_"))
    await admin(f'CREATE DATABASE "{name}"')
    try:
        shutil.copytree(
            REPO / "migrations", scripts / "m", ignore=shutil.ignore_patterns("__pycache__")
        )
        (scripts / "m" / "versions" / "2026_11_30_1500-bench000001_bench.py").write_text(REVISION)
        env = {**os.environ, "DATABASE_URL": url, "MANAGE_MIGRATIONS_DIR": str(scripts / "m")}
        upgrade = await asyncio.create_subprocess_exec(
            str(MANAGE), "migrate", "upgrade", "b4c1f11a0001", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert await upgrade.wait() == 0
        started = time.monotonic()
        await create_tables(url, rows)
        print(f"setup: 2 tables x {rows:,} rows in {time.monotonic() - started:.1f} s")
        upgrade = await asyncio.create_subprocess_exec(
            str(MANAGE), "migrate", "upgrade", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert await upgrade.wait() == 0

        plain_s, plain_writer, _ = await with_writer(
            url, "bench_plain", rows, lambda: plain_update(url)
        )
        backfill_s, bf_writer, report = await with_writer(
            url, "bench_backfill", rows, lambda: manage_backfill(env, batch_size)
        )
        await check_done(url, rows)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(scripts, ignore_errors=True)

    plain_rate = rows / plain_s
    wall_rate = rows / backfill_s
    own_rate = report["rows"] / report["seconds"]
    plain_wait = plain_writer.max_wait
    print(f"plain UPDATE       : {plain_s:6.2f} s  {plain_rate:10,.0f} rows/s  "
          f"writer max wait {plain_wait:6.2f} s ({plain_writer.count} writes)")  # fmt: skip
    print(f"manage backfill    : {backfill_s:6.2f} s  {wall_rate:10,.0f} rows/s  "
          f"writer max wait {bf_writer.max_wait:6.2f} s ({bf_writer.count} writes)  "
          f"[{report['batches']} batches of {batch_size}, wall time incl. start-up]")  # fmt: skip
    print(f"  batches only     : {report['seconds']:6.2f} s  {own_rate:10,.0f} rows/s")
    print(f"throughput ratio   : {wall_rate / plain_rate:.2f} x plain (target >= 0.5); "
          f"batches only {own_rate / plain_rate:.2f} x")  # fmt: skip
    verdict = "met" if wall_rate / plain_rate >= 0.5 and bf_writer.max_wait <= 1.0 else "NOT met"
    print(f"writer max wait    : backfill {bf_writer.max_wait:.3f} s vs plain {plain_wait:.3f} s "
          f"(target <= 1 s during the backfill); targets {verdict}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.batch_size))
