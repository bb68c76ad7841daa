"""Peak memory of `manage users list --all --json` against reading every account at once.

Usage: .venv/bin/python bench/api_users_list.py [--users N]

A scratch SQLite database gets N fake accounts (`manage seed fake users`). Then, in the same
run, three child processes are measured for peak RSS (os.wait4's ru_maxrss) and wall time:
- `--all` (streams in keyset batches of 500),
- `--limit N` (one page as large as the table: what `users list` did before it was paged),
- `--limit 50` (the default page: the floor, the process's own size).
Goal: `--all` stays near the floor whatever N is, while `--limit N` grows with N.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one child process, its output discarded."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.read().decode()}")
    return usage.ru_maxrss / 1024, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    count = parser.parse_args().users
    manage = str(BIN / "manage")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db"}
        subprocess.run([manage, "migrate", "upgrade"], env=env, check=True)
        subprocess.run(
            [manage, "seed", "fake", "users", "--count", str(count), "--password-stdin"],
            input="Bench-Passw0rd-for-lists\n",
            text=True,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        cases = {
            "--all": ["--all"],
            f"--limit {count}": ["--limit", str(count)],
            "--limit 50": ["--limit", "50"],
        }
        results = {
            name: measure([manage, "users", "list", "--json", *args], env)
            for name, args in cases.items()
        }
    floor = results["--limit 50"][0]
    print(f"accounts: {count}")
    for name, (mib, seconds) in results.items():
        print(
            f"{name:14} peak RSS {mib:7.1f} MiB ({mib / floor:4.2f}x the floor), {seconds:5.1f} s"
        )


if __name__ == "__main__":
    main()
