"""What the node cap (app/yaml_loader.MAX_NODES) saves on a flow-sequence bomb.

Prints seconds and peak memory (MiB, ru_maxrss of a fresh child process) for: load_text
refusing `roles: [[],[],...]` with N empty lists, and load_text reading a document of just
under MAX_NODES nodes (the most an accepted file can cost), with their ratio.
Run: .venv/bin/python bench/yaml_nodes.py [N=1048576]
"""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import resource, sys, time
from app.yaml_loader import MAX_NODES, YamlError, load_text
n = int(sys.argv[2])
text = ("roles: [" + ",".join(["[]"] * n) + "]\\n") if sys.argv[1] == "bomb" else (
    "roles: [" + ",".join(["[]"] * (MAX_NODES - 3)) + "]\\n")
started = time.perf_counter()
try:
    load_text(text, "bench.yaml")
except YamlError:
    pass
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def measure(kind: str, lists: int) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(lists)], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    lists = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 20
    bomb = measure("bomb", lists)
    capped = measure("capped", lists)
    print(f"refuse {lists:,} lists: {bomb[0]:.2f} s, peak {bomb[1]:.0f} MiB")
    print(f"accept MAX_NODES - 1 nodes: {capped[0]:.2f} s, peak {capped[1]:.0f} MiB")
    print(f"refusal/accept time ratio: {bomb[0] / capped[0]:.2f}x")


if __name__ == "__main__":
    main()
