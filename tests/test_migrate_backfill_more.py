"""`manage migrate backfill`: bad declarations, a failing batch, plain alembic, progress on a
pipe and a terminal, every kind of ordered key.

Fixtures and the test chain: tests/test_migrate_backfill.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, fetch, manage_env
from tests.test_migrate_backfill import (  # noqa: F401 (fixtures)
    ROWS,
    declared,
    envelope,
    expected_items,
    items,
    progress,
    scripts,
    seed_items,
)

BAD_REVISION = '''"""bad backfill

Revision ID: bf000009
Revises: bf000002
Create Date: 2026-11-30 15:09:00.000000

"""
from db.backfill import Backfill

revision = "bf000009"
down_revision = "bf000002"
branch_labels = None
depends_on = None

{declaration}


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


def _add_revision(scripts: dict[str, str], declaration: str) -> None:  # noqa: F811
    path = Path(scripts["MANAGE_MIGRATIONS_DIR"]) / "versions" / "2026_11_30_1509-bf000009_bad.py"
    path.write_text(BAD_REVISION.format(declaration=declaration))


@pytest.mark.parametrize(
    ("declaration", "words"),
    [
        (
            'b = Backfill(name="x", table="bf_items", key="id", sql="UPDATE bf_items SET qty = 1")',
            "sql must use both :lo and :hi",
        ),
        ('b = Backfill(name="x", table="bf_items", key="id")', "exactly one of sql= or function="),
        (
            'b = Backfill(name="x y", table="bf_items", key="id", function=print)',
            "the name must be",
        ),
        (
            'b = Backfill(name="x", table="bf_items; --", key="id", function=print)',
            "table must be a plain SQL identifier",
        ),
        (
            'b = Backfill(name="x", table="bf_items", key="id", function=print, batch_size=0)',
            "batch_size must be a positive integer",
        ),
        (
            'b = Backfill(name="bf_total", table="bf_items", key="id", function=print)',
            "backfill name 'bf_total' is declared by revisions bf000002 and bf000009",
        ),
    ],
    ids=["no-range", "no-work", "bad-name", "bad-table", "zero-batch", "duplicate-name"],
)
def test_a_bad_declaration_is_exit_5_naming_it_and_nothing_runs(
    cli,
    declared: str,  # noqa: F811
    scripts: dict[str, str],  # noqa: F811
    declaration: str,
    words: str,
) -> None:
    _add_revision(scripts, declaration)
    result = cli(["migrate", "backfill", "--all", "--json"], db=declared, env=scripts)
    assert result.exit_code == 5, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert envelope(result.stdout)["success"] is False
    assert progress(declared, "bf_total") == ("pending", None, 0, 0)


def test_a_batch_function_that_raises_rolls_that_batch_back_and_keeps_the_earlier_ones(
    cli,
    declared: str,  # noqa: F811
    scripts: dict[str, str],  # noqa: F811
) -> None:
    # Fails on the batch holding id 42: keys 1-40 (4 batches of 10) stay done, 41-50 do not.
    _add_revision(
        scripts,
        "import sqlalchemy as sa\n\n\n"
        "def fail_at_42(connection, lo, hi):\n"
        '    connection.execute(sa.text("UPDATE bf_items SET hits = hits + 1 '
        'WHERE id BETWEEN :lo AND :hi"), {"lo": lo, "hi": hi})\n'
        "    if lo <= 42 <= hi:\n"
        '        raise RuntimeError("boom")\n\n\n'
        'b = Backfill(name="fails", table="bf_items", key="id", function=fail_at_42, '
        "batch_size=10)",
    )
    assert cli(["migrate", "upgrade", "bf000009"], db=declared, env=scripts).exit_code == 0
    result = cli(["migrate", "backfill", "fails"], db=declared, env=scripts)
    assert result.exit_code == 70
    assert "RuntimeError" in result.stderr and "Traceback" not in result.stderr
    assert progress(declared, "fails") == ("pending", "40", 40, 4)
    hits = [row[2] for row in items(declared)]
    assert hits == [1] * 40 + [0] * (ROWS - 40)


def test_plain_alembic_upgrade_declares_the_backfill_too(
    cli,
    db_url: str,
    scripts: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    ini = tmp_path / "alembic.ini"  # the project's, pointed at the test chain
    ini.write_text(
        re.sub(
            r"(?m)^script_location = .*$",
            f"script_location = {scripts['MANAGE_MIGRATIONS_DIR']}",
            (REPO / "alembic.ini").read_text(),
        )
    )
    command = [sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "bf000002"]
    proc = subprocess.run(
        command, env=manage_env(db_url), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert progress(db_url, "bf_total") == ("pending", None, 0, 0)
    assert cli(["migrate", "backfill", "bf_total"], db=db_url, env=scripts).exit_code == 0
    assert progress(db_url, "bf_total")[0] == "complete"


def test_on_a_pipe_progress_is_json_lines_on_stderr_and_the_report_on_stdout(
    manage_proc,
    declared: str,  # noqa: F811
    scripts: dict[str, str],  # noqa: F811
) -> None:
    result = manage_proc(["migrate", "backfill", "bf_total"], db=declared, env=scripts)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines[0]["event"] == "start"
    assert lines[-1] == {
        **lines[-1],
        "event": "finish",
        "backfill": "bf_total",
        "rows_done": ROWS,
        "remaining": 0,
    }
    assert result.stdout.startswith("bf_total: complete; 95 keys in 10 batches")


def test_on_a_terminal_a_progress_bar_shows_rows_per_second(
    declared: str,  # noqa: F811
    scripts: dict[str, str],  # noqa: F811
) -> None:
    pexpect = pytest.importorskip("pexpect")
    from tests.conftest import MANAGE_BIN

    child = pexpect.spawn(
        str(MANAGE_BIN),
        ["migrate", "backfill", "bf_total", "--pause", "50"],
        env=manage_env(declared, **scripts, COLUMNS="120"),
        encoding="utf-8",
        timeout=60,
    )
    child.expect(r"bf_total \(bf_items\)")
    child.expect(r"rows/s")
    child.expect(r"bf_total: complete; 95 keys in 10 batches")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert progress(declared, "bf_total")[0] == "complete"


KEY_TYPES = {
    # name: (PostgreSQL type, SQLite type, 23 key literals in ascending order)
    "uuid": (
        "uuid",
        "CHAR(36)",
        [f"'{i:08x}-0000-4000-8000-{i * 7919:012x}'" for i in range(1, 24)],
    ),
    "timestamp": (
        "timestamp",
        "DATETIME",
        [f"'2026-01-{i:02d} 10:{i:02d}:00.000000'" for i in range(1, 24)],
    ),
    "negative-bigint": ("bigint", "BIGINT", [str(i * 1000 - 12000) for i in range(23)]),
    "text-with-quotes": (
        "varchar(20)",
        "VARCHAR(20)",
        [f"'k''{chr(65 + i)} \\ x'" for i in range(23)],
    ),
}


@pytest.mark.parametrize("key_type", sorted(KEY_TYPES))
def test_every_ordered_key_type_is_walked_once_in_batches(
    cli,
    declared: str,  # noqa: F811
    scripts: dict[str, str],  # noqa: F811
    backend: str,
    key_type: str,
) -> None:
    pg_type, sqlite_type, keys = KEY_TYPES[key_type]
    column = pg_type if backend == "postgresql" else sqlite_type
    fetch(declared, f"CREATE TABLE bf_keys (k {column} PRIMARY KEY, hits integer NOT NULL)")
    fetch(declared, "INSERT INTO bf_keys VALUES " + ", ".join(f"({k}, 0)" for k in keys))
    _add_revision(
        scripts,
        'b = Backfill(name="keys", table="bf_keys", key="k", batch_size=5, '
        'sql="UPDATE bf_keys SET hits = hits + 1 WHERE k BETWEEN :lo AND :hi")',
    )
    assert cli(["migrate", "upgrade", "bf000009"], db=declared, env=scripts).exit_code == 0
    first = cli(["migrate", "backfill", "keys", "--max-seconds", "1.2", "--pause", "400"],
                db=declared, env=scripts)  # fmt: skip
    assert first.exit_code == 0, first.stderr
    result = cli(["migrate", "backfill", "keys", "--json"], db=declared, env=scripts)
    assert result.exit_code == 0, result.stderr
    assert fetch(declared, "SELECT count(*), min(hits), max(hits) FROM bf_keys") == [(23, 1, 1)]
    assert progress(declared, "keys")[2:] == (23, 5)  # 23 keys in 5 batches, over two runs
