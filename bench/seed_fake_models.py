"""`seed fake` on PostgreSQL, end to end as processes, against a raw asyncpg COPY process.

Usage: .venv/bin/python bench/seed_fake_models.py [--rows 300000] [--repeat 3]

Measured in one run, each in a fresh migrated scratch database (dropped at the end):
- `manage seed fake users --count ROWS` (wall time of the process) against a process that
  COPYs the same number of user rows into the same migrated `users` table;
- `manage seed fake bench_posts --count ROWS` for a model with a foreign key to users, a unique
  column and an enum (defined below; the process imports it before running manage's own
  entry point, as a project's models would be imported) against a COPY process of as many
  rows into the same table.
The raw COPY rows are as long as manage's (emails, names, an argon2-length hash; slugs and
titles). Each figure is the best of --repeat runs, the four runs of a round interleaved so
load from elsewhere on the machine hits both sides alike.
Targets (issue 16): fake users >= 0.6x raw COPY; fake MODEL within 2x of it (>= 0.5x).
Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import enum
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from sqlalchemy import Column, ForeignKey, Integer, MetaData  # noqa: E402
from sqlalchemy.orm import registry  # noqa: E402
from sqlmodel import Field, SQLModel  # noqa: E402

from app.models import User  # noqa: E402

metadata = MetaData()


class BenchBase(SQLModel, registry=registry(metadata=metadata)):
    pass


class BenchState(enum.Enum):
    draft = "draft"
    published = "published"


class BenchPost(BenchBase, table=True):
    __tablename__ = "bench_posts"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True)
    title: str = Field(max_length=80)
    state: BenchState
    author_id: int = Field(sa_column=Column(Integer, ForeignKey(User.__table__.c.id)))


RUN_MANAGE = (
    "import sys; sys.path[:0] = [{here!r}, {repo!r}]; import seed_fake_models; "
    "from manage.__main__ import main; sys.argv[0] = 'manage'; main()"
)
RAW_COPY = """
import asyncio, sys, time, asyncpg
url, table, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
async def go():
    conn = await asyncpg.connect(url)
    async with conn.transaction():
        if table == "users":
            from datetime import datetime, UTC
            now = datetime.now(UTC)
            # Rows as long as manage's: first.last.N@example.com, "First Last", an argon2 hash.
            hashed = "$argon2id$v=19$m=65536,t=3,p=4$" + "s" * 22 + "$" + "h" * 43
            records = ((f"james.smith.{i}@example.com", "James Smith", hashed, True, False,
                        now, now) for i in range(rows))
            columns = ("email", "full_name", "hashed_password", "is_active", "is_superuser",
                       "created_at", "updated_at")
        else:
            ids = [r[0] for r in await conn.fetch("SELECT id FROM users ORDER BY id")]
            records = ((f"quality-post-{i}", f"Quality post about the number {i}", "draft",
                        ids[i % len(ids)]) for i in range(rows))
            columns = ("slug", "title", "state", "author_id")
        await conn.copy_records_to_table(table, records=list(records), columns=columns)
    await conn.close()
asyncio.run(go())
"""


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    from seed import admin, drop, env_for, new_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    manage = [sys.executable, "-c", RUN_MANAGE.format(here=str(HERE), repo=str(HERE.parent))]
    names: list[str] = []
    figures: dict[str, float] = {}

    def fresh() -> str:
        url = new_database(names)
        from db.config import DatabaseSettings
        from db.engine import create_engine

        async def create() -> None:
            engine = create_engine(DatabaseSettings(database_url=url), pooled=False)
            async with engine.begin() as connection:
                await connection.run_sync(metadata.create_all)
            await engine.dispose()

        asyncio.run(create())
        subprocess.run(
            [*manage, "seed", "fake", "users", "--count", "1000", "--seed", "9"],
            env=env_for(url),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        asyncio.run(admin("CHECKPOINT"))
        return url

    count = str(args.rows)
    runs = {
        "manage seed fake users": [
            *manage,
            "seed",
            "fake",
            "users",
            "--count",
            count,
            "--seed",
            "1",
        ],
        "raw COPY users": [sys.executable, "-c", RAW_COPY, "URL", "users", count],
        "manage seed fake bench_posts": [
            *manage,
            "seed",
            "fake",
            "bench_posts",
            "--count",
            count,
            "--seed",
            "1",
        ],
        "raw COPY bench_posts": [sys.executable, "-c", RAW_COPY, "URL", "bench_posts", count],
    }
    try:
        for _ in range(args.repeat):
            for name, argv in runs.items():
                url = fresh()
                seconds = timed([url if a == "URL" else a for a in argv], env_for(url))
                figures[name] = min(figures.get(name, seconds), seconds)
                drop(names)
    finally:
        drop(names)
    print(
        f"rows: {args.rows:,}; every figure is the wall time of one process, best of {args.repeat}"
    )
    for name, seconds in figures.items():
        print(f"{name:<30} {seconds:7.2f} s {args.rows / seconds:>10,.0f} rows/s")
    users = figures["raw COPY users"] / figures["manage seed fake users"]
    posts = figures["raw COPY bench_posts"] / figures["manage seed fake bench_posts"]
    print(f"fake users / raw COPY:  {users:.2f}x (target >= 0.6)")
    print(f"fake bench_posts / raw COPY: {posts:.2f}x (target >= 0.5: within 2x)")


if __name__ == "__main__":
    main()
