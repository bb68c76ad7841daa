"""Anything a revision's own code raises is exit 8 (MIGRATION_FAILED) naming the revision:
never exit 6 "database unavailable" (a retry loop would run it again) and never 70.

Only a timeout or lost connection reported by the database driver stays exit 6; a builtin
OSError or TimeoutError raised by the revision (a missing file, an HTTP call) is the revision's.
"""

from __future__ import annotations

import json

import pytest

from tests.migrations_fixtures import version
from tests.migrations_fixtures.extra_revisions import shipped_copy

RAISING = """
import os


def upgrade() -> None:
    mode = os.environ["MANAGE_TEST_RAISE"]
    if mode == "file":
        open("/nonexistent/seed_data.csv").read()
    elif mode == "permission":
        raise PermissionError(13, "Permission denied", "/etc/shadow")
    elif mode == "timeout":
        raise TimeoutError("the vendor API timed out")
    elif mode == "connection":
        raise ConnectionResetError("the vendor API hung up")
    elif mode == "locked table name":
        op.execute("UPDATE locked_accounts SET x = 1")
    elif mode == "exit":
        raise SystemExit(3)
    elif mode == "recursion":
        def again():
            return again()
        again()
    elif mode == "control characters":
        raise ValueError("bad \\x1b[31mred\\x1b[0m \\x1b]0;title\\x07 [bold]markup[/bold]")


def downgrade() -> None:
    pass
"""

MODES = {
    "file": "FileNotFoundError",
    "permission": "PermissionError",
    "timeout": "TimeoutError: the vendor API timed out",
    "connection": "ConnectionResetError: the vendor API hung up",
    "locked table name": "locked_accounts",
    "exit": "SystemExit: 3",
    "recursion": "RecursionError",
    "control characters": "ValueError: bad",
}


@pytest.mark.parametrize("mode", list(MODES))
def test_anything_a_revision_raises_is_exit_8_naming_it(
    cli, blank_db_url, tmp_path, mode, backend
) -> None:
    copy = shipped_copy(tmp_path, ("e0000001", RAISING))
    env = {"MANAGE_MIGRATIONS_DIR": str(copy), "MANAGE_TEST_RAISE": mode}
    outcome = cli(["migrate", "upgrade", "--json"], db=blank_db_url, env=env)
    assert outcome.exit_code == 8, outcome.stderr
    document = json.loads(outcome.stdout)
    assert document["error_code"] == "MIGRATION_FAILED"
    message = document["message"]
    assert message.startswith("revision e0000001 (e0000001) failed: "), message
    assert MODES[mode] in message
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: revision e0000001")
    assert "Traceback" not in outcome.stderr
    assert "\x1b" not in outcome.stderr and "\x07" not in outcome.stderr
    # Everything before it applied; on SQLite the whole run rolled back.
    assert "e0000001" not in version(blank_db_url)
