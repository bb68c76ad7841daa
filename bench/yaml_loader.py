"""What the guarded loader (app/yaml_loader.py) costs over a plain CSafeLoader parse.

Prints seconds per parse of a seed file with N user rows and a models section, for the plain
compose+construct PyYAML does and for load_text (event scan for aliases and depth, compose,
duplicate-key walk, construct), and the ratio. Run: .venv/bin/python bench/yaml_loader.py [N]
"""

from __future__ import annotations

import sys
import time

import yaml

from app.yaml_loader import load_text


def document(rows: int) -> str:
    users = "".join(
        f"  - email: user{i}@example.com\n    full_name: User {i}\n    password_env: P\n"
        for i in range(rows)
    )
    items = "".join(
        f"      - {{name: item{i}, owner_id: {{email: user{i}@example.com}}, "
        f"doc: {{a: [1, 2, {i}]}}}}\n"
        for i in range(rows)
    )
    return f"users:\n{users}models:\n  - model: Item\n    key: [name]\n    rows:\n{items}"


def best_of(runs: int, function, *args) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - started)
    return min(times)


def plain(text: str) -> None:
    loader = yaml.CSafeLoader(text)
    try:
        node = loader.get_single_node()
        loader.construct_document(node)
    finally:
        loader.dispose()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    text = document(rows)
    baseline = best_of(3, plain, text)
    guarded = best_of(3, load_text, text, "bench.yaml")
    print(f"{rows} rows, {len(text) / 1e6:.1f} MB")
    print(f"plain CSafeLoader   {baseline:.3f} s")
    print(f"guarded load_text   {guarded:.3f} s")
    print(f"ratio               {guarded / baseline:.2f}x")


if __name__ == "__main__":
    main()
