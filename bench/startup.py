"""Start-up time of `manage` against `alembic --help` and a bare one-command Typer app.

Usage: .venv/bin/python bench/startup.py [--runs N]

Every figure is measured in this run, interleaved, so machine noise hits all of them alike;
the ratios are what to read. Goal: each `manage` figure <= 0.5 x alembic and <= 1.3 x bare Typer.
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

BIN = Path(sys.executable).parent
BARE_TYPER = '''
import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    """Say hello."""
    typer.echo(f"hello {name}")


app()
'''


def wall(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_TYPER)
        cases = {
            "manage --help": [str(BIN / "manage"), "--help"],
            "manage users --help": [str(BIN / "manage"), "users", "--help"],
            "manage migrate --help": [str(BIN / "manage"), "migrate", "--help"],
            "alembic --help": [str(BIN / "alembic"), "--help"],
            "bare typer --help": [sys.executable, str(bare), "--help"],
        }
        for argv in cases.values():  # warm the bytecode and page caches
            wall(argv, env)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(runs):
            for name, argv in cases.items():
                times[name].append(wall(argv, env))
    median = {name: statistics.median(values) for name, values in times.items()}
    alembic, bare_typer = median["alembic --help"], median["bare typer --help"]
    print(f"median wall time of {runs} interleaved runs each")
    print(f"{'command':26} {'ms':>8} {'x alembic':>10} {'x bare typer':>13}")
    ok = True
    for name, value in median.items():
        print(f"{name:26} {value * 1000:8.1f} {value / alembic:10.2f} {value / bare_typer:13.2f}")
        if name.startswith("manage"):
            ok &= value <= 0.5 * alembic and value <= 1.3 * bare_typer
    print("goal (<= 0.5 x alembic and <= 1.3 x bare typer):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
