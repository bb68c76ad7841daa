"""Under --json, stdout carries one JSON document: a revision writing to stdout at any level
(print, sys.__stdout__, os.write(1, ...), at import or in upgrade) lands on stderr instead.
Real subprocesses: only they have a real file descriptor 1."""

from __future__ import annotations

import json

import pytest

from tests.migrations_fixtures.extra_revisions import shipped_copy

NOISY = """
import os
import sys

print("IMPORT PRINT")
print("IMPORT DUNDER", file=sys.__stdout__, flush=True)
os.write(1, b"IMPORT FD1\\n")


def upgrade() -> None:
    print("UPGRADE PRINT")
    sys.stdout.write("UPGRADE WRITE\\n")
    print("UPGRADE DUNDER", file=sys.__stdout__, flush=True)
    os.write(1, b"UPGRADE FD1\\n")


def downgrade() -> None:
    pass
"""

COMMANDS = [
    ["migrate", "upgrade", "--json"],
    ["migrate", "review", "--all", "--no-sql-lint", "--json"],
    ["migrate", "sql", "head", "--dialect", "sqlite", "--json"],
    ["migrate", "upgrade", "--sql", "--json"],
    ["migrate", "heads", "--json"],
    ["migrate", "status", "--json"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[1:3]))
def test_revision_output_never_reaches_json_stdout(manage_proc, scratch, tmp_path, command) -> None:
    copy = shipped_copy(tmp_path, ("n0000001", NOISY))
    url = scratch.migrated("sqlite")
    outcome = manage_proc(command, db=url, env={"MANAGE_MIGRATIONS_DIR": str(copy)})
    assert outcome.exit_code in (0, 1), outcome.stderr
    json.loads(outcome.stdout)  # one document, nothing else
    assert "IMPORT" not in outcome.stdout and "UPGRADE" not in outcome.stdout
    assert "IMPORT FD1" in outcome.stderr
    if command[:2] == ["migrate", "upgrade"] and "--sql" not in command:
        assert "UPGRADE FD1" in outcome.stderr and "UPGRADE DUNDER" in outcome.stderr
