"""Wall time of `manage migrate upgrade` against plain `alembic upgrade head`, same chain.

Usage: .venv/bin/python bench/migrate.py [--runs N] [--revisions N] [--backend sqlite|postgresql]

A chain of 30 revisions (each creates a table with an index and inserts a row) is generated
into a temporary directory; both tools run it through the project's own env.py (manage via
MANAGE_MIGRATIONS_DIR, alembic via a temporary alembic.ini), each run on a fresh database,
interleaved in this one run so machine noise hits both alike. Goal: ratio <= 1.2.
PostgreSQL databases come from TEST_POSTGRES_URL (default postgres@127.0.0.1:5432) and are
dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

ENV_PY = """import runpy
from pathlib import Path

import migrations

runpy.run_path(str(Path(migrations.__file__).parent / "env.py"), run_name="env_py")
"""

REVISION = '''"""bench {n}

Revision ID: {rev}
Revises: {down}
Create Date: 2026-11-25 00:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = {rev!r}
down_revision = {down_repr}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bench_{n:02d}",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
    )
    op.create_index("ix_bench_{n:02d}_name", "bench_{n:02d}", ["name"])
    op.execute("INSERT INTO bench_{n:02d} (name) VALUES ('row {n}')")


def downgrade() -> None:
    op.drop_table("bench_{n:02d}")
'''


def write_chain(root: Path, count: int) -> Path:
    chain = root / "chain"
    (chain / "versions").mkdir(parents=True)
    (chain / "env.py").write_text(ENV_PY)
    down = None
    for n in range(1, count + 1):
        rev = f"bench{n:04d}"
        (chain / "versions" / f"2026_11_25_0000-{rev}_bench_{n}.py").write_text(
            REVISION.format(n=n, rev=rev, down=down or "", down_repr=repr(down))
        )
        down = rev
    ini = (REPO / "alembic.ini").read_text()
    ini = ini.replace("script_location = %(here)s/migrations", f"script_location = {chain}")
    (root / "alembic.ini").write_text(ini)
    return chain


async def _pg(*statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


class Databases:
    def __init__(self, backend: str, root: Path) -> None:
        self.backend, self.root, self.pg_names = backend, root, []

    def fresh(self) -> str:
        name = f"bench_{uuid.uuid4().hex[:10]}"
        if self.backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.root / name}.db"
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
        self.pg_names.append(name)
        return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"

    def version(self, url: str) -> list[str]:
        """alembic_version after a run: proof the chain really ran."""
        if self.backend == "sqlite":
            import sqlite3

            with sqlite3.connect(url.split(":///", 1)[1]) as conn:
                return [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
        import asyncpg

        async def read() -> list[str]:
            conn = await asyncpg.connect(url, timeout=5)
            try:
                return [r[0] for r in await conn.fetch("SELECT version_num FROM alembic_version")]
            finally:
                await conn.close()

        return asyncio.run(read())

    def drop(self) -> None:
        if self.pg_names:
            asyncio.run(_pg(*(f'DROP DATABASE IF EXISTS "{n}"' for n in self.pg_names)))


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--revisions", type=int, default=30)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "MIGRATION_"))}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        chain = write_chain(root, args.revisions)
        databases = Databases(args.backend, root)
        cases = {
            "manage migrate upgrade": (
                [str(BIN / "manage"), "migrate", "upgrade"],
                {"MANAGE_MIGRATIONS_DIR": str(chain)},
            ),
            "alembic upgrade head": (
                [str(BIN / "alembic"), "-c", str(root / "alembic.ini"), "upgrade", "head"],
                {},
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        try:
            for run in range(args.runs + 1):  # run 0 warms bytecode and page caches
                for name, (argv, extra) in cases.items():
                    url = databases.fresh()
                    elapsed = timed(argv, {**base_env, **extra, "DATABASE_URL": url}, root)
                    head = f"bench{args.revisions:04d}"
                    if databases.version(url) != [head]:
                        sys.exit(f"{name} did not reach {head}")
                    if run:
                        times[name].append(elapsed)
        finally:
            databases.drop()
    print(f"{args.revisions} revisions on {args.backend}, {args.runs} runs each (interleaved)")
    for name, values in times.items():
        print(
            f"  {name:<24} median {statistics.median(values):.3f} s"
            f"  min {min(values):.3f} s  max {max(values):.3f} s"
        )
    manage, alembic = (statistics.median(v) for v in times.values())
    ratio = manage / alembic
    print(f"  ratio manage/alembic (medians): {ratio:.2f} (goal <= 1.2)")


if __name__ == "__main__":
    main()
