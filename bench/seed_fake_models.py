"""`seed fake` on PostgreSQL, end to end as processes, against a raw asyncpg COPY process.

Usage: .venv/bin/python bench/seed_fake_models.py [--rows 300000] [--repeat 3]

Measured in one run, each in a fresh migrated scratch database (dropped at the end):
- `manage seed fake users --count ROWS` (wall time of the process) against a process that
  COPYs the same number of user rows into the same migrated `users` table;
- `manage seed fake bench_posts --count ROWS` for a model with a foreign key to users, a unique
  column and an enum (defined below; the process imports it before running manage's own
  entry point, as a project's models would be imported) against a COPY process of as many
  rows into the same table.
The raw COPY process copies exactly the rows manage wrote (exported from manage's database
in insertion order and handed over in a pickle the process loads): "the same rows" of the
issue, unique-index order included. Each figure is the best of --repeat rounds; within a
round each manage run is followed at once by its raw COPY, so load from elsewhere on the
machine hits both sides alike.
Targets (issue 16): fake users >= 0.6x raw COPY; fake MODEL within 2x of it (>= 0.5x).
Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import enum
import pickle
import subprocess
import sys
import tempfile
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
import asyncio, pickle, sys, asyncpg
url, table, path = sys.argv[1], sys.argv[2], sys.argv[3]
async def go():
    with open(path, "rb") as f:
        columns, records = pickle.load(f)
    conn = await asyncpg.connect(url)
    async with conn.transaction():
        await conn.copy_records_to_table(table, records=records, columns=columns)
    await conn.close()
asyncio.run(go())
"""
# The rows manage wrote (the users fresh() made first left out), in the order it wrote them.
EXPORT = {
    "users": (
        "email, full_name, hashed_password, is_active, is_superuser, created_at, updated_at",
        "OFFSET 1000",
    ),
    "bench_posts": ("slug, title, state::text, author_id", ""),
}


async def export(url: str, table: str, path: Path) -> None:
    import asyncpg

    columns, tail = EXPORT[table]
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(f"SELECT {columns} FROM {table} ORDER BY id {tail}")
    finally:
        await conn.close()
    names = [c.split("::")[0].strip() for c in columns.split(",")]
    path.write_bytes(pickle.dumps((names, [tuple(r) for r in rows])))


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
    try:
        for _ in range(args.repeat):
            for table in ("users", "bench_posts"):
                url = fresh()
                argv = [*manage, "seed", "fake", table, "--count", count, "--seed", "1"]
                seconds = timed(argv, env_for(url))
                name = f"manage seed fake {table}"
                figures[name] = min(figures.get(name, seconds), seconds)
                with tempfile.TemporaryDirectory() as scratch:
                    rows = Path(scratch) / "rows.pickle"
                    asyncio.run(export(url, table, rows))
                    drop(names)
                    url = fresh()
                    argv = [sys.executable, "-c", RAW_COPY, url, table, str(rows)]
                    seconds = timed(argv, env_for(url))
                name = f"raw COPY {table}"
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
