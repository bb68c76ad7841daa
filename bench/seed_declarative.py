"""Declarative seeding on PostgreSQL: `manage seed run` of N users from CSV and YAML, against a
raw asyncpg COPY of the same rows into the same migrated `users` table, in the same run.

Usage: .venv/bin/python bench/seed_declarative.py [--rows 100000] [--skip-yaml]

Each step runs in a fresh scratch database (dropped at the end); `manage` runs as a process
(start-up included) and its peak RSS is that process's own (os.wait4 rusage). Prints:
- CSV first run, its no-op rerun (ratio to the first run), rows/s and the ratio to raw COPY;
- YAML first run and rerun (the same rows; YAML is parsed whole, see docs/seeds.md);
- raw COPY of the same rows (the baseline).
Django `loaddata` is not measured by this script. Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed import HELPER, MANAGE, PASSWORD, admin, drop, env_for, new_database

HASH_ROUNDS_NOTE = "one precomputed argon2 hash for every row (hashing is not what is measured)"


def write_files(directory: Path, rows: int, hashed: str) -> tuple[Path, Path]:
    csv_path, yaml_path = directory / "users.csv", directory / "users.yaml"
    with csv_path.open("w", encoding="utf-8") as out:
        out.write("# {model: User, key: email}\nemail,full_name,hashed_password\n")
        for i in range(rows):
            out.write(f'user{i}@example.com,User {i},"{hashed}"\n')
    with yaml_path.open("w", encoding="utf-8") as out:
        out.write("users:\n")
        for i in range(rows):
            out.write(f"  - {{email: user{i}@example.com, full_name: User {i}, ")
            out.write(f"password_hash: '{hashed}'}}\n")
    return csv_path, yaml_path


def manage_run(url: str, path: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of `manage seed run PATH`."""
    argv = [str(MANAGE), "seed", "run", str(path), "--json"]
    helper = subprocess.run(
        [sys.executable, "-c", HELPER, *argv],
        env=env_for(url),
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(helper.stdout)
    if report["exit"] != 0:
        raise SystemExit(f"manage seed run {path.name} failed with exit {report['exit']}")
    return report["wall"], report["rss_kib"]


async def raw_copy(url: str, rows: int, hashed: str) -> float:
    import asyncpg

    from app.models._columns import utcnow

    now = utcnow()
    records = [
        (f"user{i}@example.com", f"User {i}", hashed, True, False, now, now) for i in range(rows)
    ]
    columns = ("email", "full_name", "hashed_password", "is_active", "is_superuser")
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table(
                "users", records=records, columns=(*columns, "created_at", "updated_at")
            )
        return time.perf_counter() - started
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--skip-yaml", action="store_true")
    args = parser.parse_args()
    from app.security import hash_password

    hashed = hash_password(PASSWORD)
    names: list[str] = []
    results: dict[str, tuple[float, int]] = {}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            csv_path, yaml_path = write_files(Path(scratch), args.rows, hashed)
            url = new_database(names)
            asyncio.run(admin("CHECKPOINT"))
            results["csv"] = manage_run(url, csv_path)
            results["csv rerun"] = manage_run(url, csv_path)
            if not args.skip_yaml:
                url = new_database(names)
                asyncio.run(admin("CHECKPOINT"))
                results["yaml"] = manage_run(url, yaml_path)
                results["yaml rerun"] = manage_run(url, yaml_path)
            url = new_database(names)
            asyncio.run(admin("CHECKPOINT"))
            copy_seconds = asyncio.run(raw_copy(url, args.rows, hashed))
    finally:
        drop(names)
    print(f"rows: {args.rows:,}; {HASH_ROUNDS_NOTE}")
    copy_rate = args.rows / copy_seconds
    print(f"raw asyncpg COPY (baseline)     {copy_seconds:7.2f} s {copy_rate:>9,.0f} rows/s")
    for name, (seconds, rss) in results.items():
        ratio = copy_seconds / seconds
        print(
            f"manage seed run {name:<15} {seconds:7.2f} s {args.rows / seconds:>9,.0f} rows/s"
            f"  {ratio:5.2f}x raw COPY  peak RSS {rss / 1024:6.0f} MiB"
        )
    for kind in ("csv", "yaml"):
        if kind in results:
            rerun = results[f"{kind} rerun"][0] / results[kind][0]
            print(f"{kind} no-op rerun / first run: {rerun:.2f} (target <= 0.2)")


if __name__ == "__main__":
    main()
