"""On a terminal, per-revision progress never says "applied" for a revision that was then
rolled back: SQLite commits the whole run at the end, so progress is printed after the commit.
A real subprocess with stderr on a pseudo-terminal (progress shows only there)."""

from __future__ import annotations

import os
import pty
import subprocess

from tests.conftest import MANAGE_BIN, manage_env
from tests.migrations_fixtures.extra_revisions import shipped_copy

GOOD = """
def upgrade() -> None:
    op.execute("CREATE TABLE progress_marker (id INTEGER PRIMARY KEY)")


def downgrade() -> None:
    op.execute("DROP TABLE progress_marker")
"""

BAD = """
def upgrade() -> None:
    raise ValueError("stop here")


def downgrade() -> None:
    pass
"""


def _run_on_tty(args: list[str], url: str, env: dict[str, str], cwd) -> tuple[int, str]:
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [str(MANAGE_BIN), *args],
            env=manage_env(url, **env),
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=slave,
            stdin=subprocess.DEVNULL,
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=120)
    finally:
        os.close(master)
    return code, b"".join(chunks).decode(errors="replace")


def test_a_rolled_back_sqlite_run_never_prints_applied(scratch, tmp_path) -> None:
    url = scratch.migrated("sqlite")
    copy = shipped_copy(tmp_path, ("g0000001", GOOD), ("g0000002", BAD))
    code, output = _run_on_tty(
        ["migrate", "upgrade"], url, {"MANAGE_MIGRATIONS_DIR": str(copy)}, tmp_path
    )
    assert code == 8, output
    assert "applied g0000001" not in output
    assert "revision g0000002 (g0000002) failed" in output


def test_a_committed_sqlite_run_prints_each_revision(scratch, tmp_path) -> None:
    url = scratch.migrated("sqlite")
    copy = shipped_copy(tmp_path, ("g0000001", GOOD))
    code, output = _run_on_tty(
        ["migrate", "upgrade"], url, {"MANAGE_MIGRATIONS_DIR": str(copy)}, tmp_path
    )
    assert code == 0, output
    assert "applied g0000001" in output
