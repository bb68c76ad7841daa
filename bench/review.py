"""Wall time of `manage migrate review --all` (rules, squawk on the offline SQL, the SQLite
check) on a 30-revision chain, against a bare `alembic upgrade base:head --sql` of the same
chain, in the same run.

Usage: .venv/bin/python bench/review.py [--runs N] [--revisions N]

Each revision creates a table, adds a column, indexes it, backfills it and changes a type
(in batch mode: the whole chain runs on SQLite), so every part of the review has work to do.
Both tools run as subprocesses (start-up included), interleaved so machine noise hits both
alike.
Goal: under 0.3 s per revision for the review.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from migrate import BIN, ENV_PY, REPO  # bench/migrate.py, a sibling script

REVISION = '''"""bench {n}

Revision ID: {rev}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = {rev!r}
down_revision = {down_repr}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("bench_{n:02d}", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.String(64), nullable=True))
    op.add_column("bench_{n:02d}", sa.Column("note", sa.Text(), nullable=True))
    op.create_index("ix_bench_{n:02d}_name", "bench_{n:02d}", ["name"])
    op.execute("UPDATE bench_{n:02d} SET note = name")
    with op.batch_alter_table("bench_{n:02d}") as batch_op:
        batch_op.alter_column("name", existing_type=sa.String(64), type_=sa.Integer())


def downgrade() -> None:
    op.drop_table("bench_{n:02d}")
'''


def write_chain(root: Path, count: int) -> Path:
    chain = root / "chain"
    (chain / "versions").mkdir(parents=True)
    (chain / "env.py").write_text(ENV_PY)
    (chain / "pyproject.toml").write_text("[tool.manage.review]\n")
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


def timed(argv: list[str], env: dict[str, str], cwd: Path, ok: tuple[int, ...]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode not in ok:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--revisions", type=int, default=30)
    args = parser.parse_args()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "MIGRATION_"))}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        chain = write_chain(root, args.revisions)
        url = f"sqlite+aiosqlite:///{root}/unused.db"
        alembic = [str(BIN / "alembic")]
        cases = {
            "manage migrate review --all": (
                [str(BIN / "manage"), "migrate", "review", "--all", "--json"],
                {"MANAGE_MIGRATIONS_DIR": str(chain), "DATABASE_URL": url},
                (0, 1),  # 1: it found what the chain does wrong, as it should
            ),
            "alembic upgrade --sql": (
                [*alembic, "-c", str(root / "alembic.ini"), "upgrade", "base:head", "--sql"],
                {"DATABASE_URL": "postgresql://postgres@127.0.0.1/unused"},
                (0,),
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for run in range(args.runs + 1):  # run 0 warms bytecode and page caches
            for name, (argv, extra, ok) in cases.items():
                elapsed = timed(argv, {**base_env, **extra}, root, ok)
                if run:
                    times[name].append(elapsed)
    print(f"{args.revisions} revisions, {args.runs} runs each (interleaved)")
    for name, values in times.items():
        print(
            f"  {name:<28} median {statistics.median(values):.3f} s"
            f"  min {min(values):.3f} s  max {max(values):.3f} s"
        )
    review, baseline = (statistics.median(v) for v in times.values())
    per = review / args.revisions
    print(f"  review per revision: {per:.3f} s (goal < 0.3 s)")
    print(f"  ratio review/alembic --sql (medians): {review / baseline:.2f}")


if __name__ == "__main__":
    main()
