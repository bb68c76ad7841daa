"""Every number a user can type into an option has a documented range (issue 15, finding 5).

Out of range (beyond 64 bits, over the maximum, inf, nan) is a usage error: exit 2, one
`error:` line naming the option, before any work (nothing connects: the database URL here
points at a file that is never created).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def number_options() -> Iterator[tuple[str, Any]]:
    """(command path, param) for every int/float parameter of every command, via Typer."""
    import typer

    from manage.cli import app

    def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        for param in command.params:
            annotation = param.type_descriptor.annotation
            if annotation in (int, float) or str(annotation) in ("int | None", "float | None"):
                yield " ".join([*path, param.opts[0]]), param
        if hasattr(command, "list_commands"):
            for name in command.list_commands(None):
                yield from walk(command.get_command(None, name), [*path, name])

    yield from walk(typer.main.get_command(app), ["manage"])


def test_the_walk_finds_the_known_number_options() -> None:
    found = {name for name, _ in number_options()}
    assert {
        "manage users list --limit",
        "manage users list --offset",
        "manage audit list --limit",
        "manage db check --wait",
        "manage db init --lock-timeout",
        "manage migrate upgrade --lock-timeout",
        "manage seed fake --count",
    } <= found


def bounds(param: Any) -> tuple[Any, Any]:
    """(min, max) as declared: once a help page was rendered in this process, manage/help.py
    moved them aside (into the help text; Typer still enforces the declared ones)."""
    return getattr(param, "_manage_range", (param.min, param.max))


def test_every_number_option_has_a_finite_minimum_and_maximum() -> None:
    unbounded = [
        name
        for name, param in number_options()
        if (low := bounds(param)[0]) is None
        or (high := bounds(param)[1]) is None
        or not (math.isfinite(low) and math.isfinite(high))
    ]
    assert unbounded == []


def test_every_number_option_names_its_range_in_help() -> None:
    missing = [
        name
        for name, param in number_options()
        if not param.hidden
        and str(bounds(param)[1]) not in (param.help or "").replace(",", "")
        and f"{bounds(param)[1]:_}" not in (param.help or "")
        and "2**63-1" not in (param.help or "")
    ]
    assert missing == []


CASES = {
    "users list --limit beyond 64 bits": ["users", "list", "--limit", str(2**64 + 1)],
    "users list --offset beyond 64 bits": ["users", "list", "--offset", str(2**64 + 1)],
    "users list --limit over its maximum": ["users", "list", "--limit", "10001"],
    "audit list --limit beyond 64 bits": ["audit", "list", "--limit", str(2**70)],
    "seed fake users --count beyond 64 bits": ["seed", "fake", "users", "-n", str(2**64)],
    "seed fake users --seed beyond 64 bits": [
        "seed",
        "fake",
        "users",
        "-n",
        "1",
        "--seed",
        str(2**64),
    ],
    "db check --wait inf": ["db", "check", "--wait", "inf"],
    "db check --wait nan": ["db", "check", "--wait", "nan"],
    "db init --lock-timeout 1e400": ["db", "init", "--lock-timeout", "1e400"],
    "migrate upgrade --lock-timeout inf": ["migrate", "upgrade", "--lock-timeout", "inf"],
    "migrate downgrade --lock-timeout -inf": [
        "migrate",
        "downgrade",
        "-1",
        "--lock-timeout",
        "-inf",
    ],
}


@pytest.mark.parametrize("case", CASES)
def test_an_out_of_range_number_is_a_one_line_usage_error(manage_proc, tmp_path, case) -> None:
    never = Path(tmp_path) / "never-created.db"
    outcome = manage_proc(CASES[case], db=f"sqlite+aiosqlite:///{never}")

    assert outcome.exit_code == 2, outcome.stderr
    assert outcome.stdout == ""
    first = outcome.stderr.splitlines()[0]
    option = CASES[case][-2]  # each case ends with the option and its bad value
    assert first.startswith("error: invalid value for") and option in first
    assert "Traceback" not in outcome.stderr
    assert not never.exists()
