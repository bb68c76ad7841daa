"""`manage migrate backfill` against hostile revisions and a hostile world (attack on issue 18).

A batch function that breaks its contract (commits or rolls back the batch's transaction,
returns something that is not a row count), a batch SQL error whose text happens to contain a
word like "connection", a stall inside a batch, the declaring revision downgraded while the
backfill runs. Each must end with the documented exit code and one line, never a batch applied
twice and never "complete" for work that was not done.

Fixtures and the test chain: tests/test_migrate_backfill.py; the extra revision bf000009:
tests/test_migrate_backfill_more.py.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.conftest import MANAGE_BIN, manage_env
from tests.fault_proxy import FaultProxy
from tests.test_migrate_backfill import (  # noqa: F401 (fixtures)
    ROWS,
    declared,
    envelope,
    items,
    progress,
    scripts,
    seed_items,
)
from tests.test_migrate_backfill_more import _add_revision

HITS_SQL = (
    '    connection.execute(sa.text("UPDATE bf_items SET hits = hits + 1 '
    'WHERE id BETWEEN :lo AND :hi"), {"lo": lo, "hi": hi})\n'
)


def _function_revision(body: str, *, batch_size: int = 10) -> str:
    """A revision declaring backfill 'fn' whose function bumps hits then runs `body`."""
    return (
        "import os\nimport time\n\nimport sqlalchemy as sa\n\n\n"
        "def work(connection, lo, hi):\n"
        f"{HITS_SQL}{body}\n\n"
        f'b = Backfill(name="fn", table="bf_items", key="id", function=work, '
        f"batch_size={batch_size})\n\n\n"
        "def upgrade() -> None:\n    b.declare()\n\n\n"
        "def downgrade() -> None:\n    b.forget()\n"
    )


def _last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("    connection.commit()\n    return None", "called connection.commit()"),
        ("    connection.rollback()\n    return None", "called connection.rollback()"),
        # Swallowing the refusal does not let the commit through either.
        (
            "    try:\n        connection.commit()\n    except Exception:\n        pass\n"
            "    return None",
            "called connection.commit()",
        ),
    ],
    ids=["commit", "rollback", "commit-swallowed"],
)
def test_a_function_that_ends_the_batch_transaction_is_exit_8_and_its_work_is_undone(
    cli,
    declared: str,  # noqa: F811
    scripts: dict[str, str],  # noqa: F811
    body: str,
    words: str,
) -> None:
    # Before: a commit inside the function made the batch outlive its cursor (a rerun applied
    # it twice); a rollback lost the batch while the cursor moved past it.
    _add_revision(scripts, "")
    path = next((p for p in _revision_paths(scripts)), None)
    assert path is not None
    path.write_text(path.read_text() + "\n" + _function_revision(body))
    assert cli(["migrate", "upgrade", "bf000009"], db=declared, env=scripts).exit_code == 0
    result = cli(["migrate", "backfill", "fn", "--json"], db=declared, env=scripts)
    assert result.exit_code == 8, result.stderr
    line = _last_line(result.stderr)
    assert words in line and "keys 1..10" in line and "Traceback" not in result.stderr
    assert envelope(result.stdout)["error_code"] == "BACKFILL_FAILED"
    assert progress(declared, "fn") == ("pending", None, 0, 0)
    assert [row[2] for row in items(declared)] == [0] * ROWS


@pytest.mark.parametrize(
    ("returned", "type_name"),
    [
        ("connection.execute(sa.text('SELECT 1'))", "CursorResult"),
        ("'10'", "str"),
        ("True", "bool"),
    ],
    ids=["result", "str", "bool"],
)
def test_a_function_returning_something_not_a_row_count_is_exit_8_not_70(
    cli,
    declared: str,  # noqa: F811
    scripts: dict[str, str],  # noqa: F811
    returned: str,
    type_name: str,
) -> None:
    # Returning connection.execute(...) (a Result, not its rowcount) was an unexpected
    # TypeError: exit 70, "a bug in manage".
    _add_revision(scripts, "")
    path = next(iter(_revision_paths(scripts)))
    path.write_text(path.read_text() + "\n" + _function_revision(f"    return {returned}"))
    assert cli(["migrate", "upgrade", "bf000009"], db=declared, env=scripts).exit_code == 0
    result = cli(["migrate", "backfill", "fn"], db=declared, env=scripts)
    assert result.exit_code == 8, result.stderr
    assert f"the function returned {type_name}, not a row count" in _last_line(result.stderr)
    assert progress(declared, "fn") == ("pending", None, 0, 0)
    assert [row[2] for row in items(declared)] == [0] * ROWS


@pytest.mark.parametrize("column", ["connection_count", "busy", "closed_at", "locked"])
def test_a_batch_sql_error_is_exit_8_whatever_words_its_message_holds(
    cli,
    declared: str,  # noqa: F811
    scripts: dict[str, str],  # noqa: F811
    column: str,
) -> None:
    # SQLite has no SQLSTATE: errors were judged transient by words in the message, so
    # "no such column: connection_count" was re-raised raw and ended as exit 70.
    _add_revision(
        scripts,
        f'b = Backfill(name="typo", table="bf_items", key="id", sql="UPDATE bf_items '
        f'SET hits = {column} WHERE id BETWEEN :lo AND :hi", batch_size=10)',
    )
    assert cli(["migrate", "upgrade", "bf000009"], db=declared, env=scripts).exit_code == 0
    result = cli(["migrate", "backfill", "typo", "--json"], db=declared, env=scripts)
    assert result.exit_code == 8, result.stderr
    line = _last_line(result.stderr)
    assert "backfill typo failed on keys 1..10" in line and column in line
    assert envelope(result.stdout)["error_code"] == "BACKFILL_FAILED"


def test_postgresql_a_stalled_batch_is_exit_6_database_unavailable_not_a_failed_backfill(
    cli,
    pg_db_url: str,
    scripts: dict[str, str],  # noqa: F811
    tmp_path,
) -> None:
    # The stall's deadline (DB_COMMAND_TIMEOUT) was wrapped as BACKFILL_FAILED, exit 8: "fix
    # the revision" for a network fault. It is exit 6 like every other stalled statement.
    assert cli(["migrate", "upgrade", "bf000002"], db=pg_db_url, env=scripts).exit_code == 0
    seed_items(pg_db_url)
    with FaultProxy(pg_db_url, mode="stall", on=b"UPDATE bf_items SET total") as proxy:
        env = manage_env(proxy.url, DB_COMMAND_TIMEOUT="2", **scripts)
        proc = subprocess.run(
            [str(MANAGE_BIN), "migrate", "backfill", "bf_total"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert proxy.triggered.is_set()
    assert proc.returncode == 6, proc.stderr
    line = _last_line(proc.stderr)
    assert "DB_COMMAND_TIMEOUT" in line and "failed on keys" not in line
    assert progress(pg_db_url, "bf_total") == ("pending", None, 0, 0)


def test_downgrading_the_declaring_revision_while_it_runs_stops_it_exit_4_not_complete(
    cli,
    declared: str,  # noqa: F811
    scripts: dict[str, str],  # noqa: F811
    tmp_path,
) -> None:
    # The progress row vanished under the runner, which then reported "complete", exit 0,
    # with most keys never visited.
    if declared.startswith("sqlite"):
        # SQLite's busy handler lets the runner take the write lock again between batches, so
        # the downgrade's EXCLUSIVE lock waits until the backfill has finished.
        pytest.skip("on SQLite the downgrade waits for the backfill")
    _add_revision(scripts, "")
    path = next(iter(_revision_paths(scripts)))
    body = '    time.sleep(float(os.environ.get("BF_TEST_SLEEP", "0")))\n    return None'
    path.write_text(path.read_text() + "\n" + _function_revision(body, batch_size=5))
    assert cli(["migrate", "upgrade", "bf000009"], db=declared, env=scripts).exit_code == 0
    proc = subprocess.Popen(
        [str(MANAGE_BIN), "migrate", "backfill", "fn", "--json"],
        env=manage_env(declared, BF_TEST_SLEEP="0.1", **scripts),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while (row := progress(declared, "fn")) is None or row[3] < 2:
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        down = cli(["migrate", "downgrade", "bf000002", "--yes"], db=declared, env=scripts)
        assert down.exit_code == 0, down.stderr
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 4, err
    assert "was removed from manage_backfills while it ran" in _last_line(err)
    assert envelope(out)["error_code"] == "CONFLICT"
    assert sum(row[2] for row in items(declared)) < ROWS


def _revision_paths(scripts: dict[str, str]):  # noqa: F811
    from pathlib import Path

    return sorted((Path(scripts["MANAGE_MIGRATIONS_DIR"]) / "versions").glob("*bf000009*.py"))


def test_declaring_and_requiring_revisions_render_as_offline_sql_that_keeps_the_gate(
    cli,
    pg_db_url: str,
    scripts: dict[str, str],  # noqa: F811
) -> None:
    # .declare(), .forget() and require_backfill() read the database through op.get_bind(): in
    # offline mode that was NoInspectionAvailable, so `migrate sql` / `upgrade --sql` (and the
    # CI recipe's `migrate sql base:head`) failed on any chain with a backfill, and review's
    # SQL lint skipped the revision.
    rendered = cli(["migrate", "sql", "bf000001:bf000003", "--dialect", "postgresql"], env=scripts)
    assert rendered.exit_code == 0, rendered.stderr
    assert "INSERT INTO manage_backfills" in rendered.stdout
    assert "DO $$" in rendered.stdout
    down = cli(
        ["migrate", "sql", "bf000003:bf000001", "--downgrade", "--dialect", "postgresql"],
        env=scripts,
    )
    assert down.exit_code == 0, down.stderr
    assert "DELETE FROM manage_backfills" in down.stdout
    sqlite = cli(["migrate", "sql", "bf000001:bf000002", "--dialect", "sqlite"], env=scripts)
    assert sqlite.exit_code == 0, sqlite.stderr
    assert sqlite.stdout.count("INSERT INTO manage_backfills") == 2

    # Applied by psql-like means (one statement at a time) to a real database: the declaring
    # script records the backfills, the requiring script refuses until the backfill is done.
    assert cli(["migrate", "upgrade", "bf000001"], db=pg_db_url, env=scripts).exit_code == 0
    seed_items(pg_db_url)
    declare_sql = cli(
        ["migrate", "sql", "bf000001:bf000002", "--dialect", "postgresql"], env=scripts
    ).stdout
    _run_script(pg_db_url, declare_sql)
    assert progress(pg_db_url, "bf_total") == ("pending", None, 0, 0)
    require_sql = cli(
        ["migrate", "sql", "bf000002:bf000003", "--dialect", "postgresql"], env=scripts
    ).stdout
    with pytest.raises(Exception, match="requires backfill bf_total to be complete"):
        _run_script(pg_db_url, require_sql)
    assert cli(["migrate", "backfill", "bf_total"], db=pg_db_url, env=scripts).exit_code == 0
    _run_script(pg_db_url, require_sql)
    status = cli(["migrate", "status", "--json"], db=pg_db_url, env=scripts)
    assert envelope(status.stdout)["data"]["current"] == ["bf000003"]


def _run_script(url: str, script: str) -> None:
    """Run offline SQL the way psql does: statement by statement, in its BEGIN/COMMIT."""
    import asyncio

    import asyncpg

    async def run() -> None:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(script)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.mark.parametrize("command", [["--dry-run"], []], ids=["dry-run", "run"])
def test_a_key_without_a_unique_index_is_refused_exit_5_before_any_batch(
    cli,
    declared: str,  # noqa: F811
    scripts: dict[str, str],  # noqa: F811
    command: list[str],
) -> None:
    # qty is neither unique nor indexed: every batch was a full scan and sort of the table, and
    # a key shared by many rows made one batch of all of them. The docs promise a PK or an
    # indexed unique column; the declaration is now held to it.
    _add_revision(
        scripts,
        'b = Backfill(name="by_qty", table="bf_items", key="qty", sql="UPDATE bf_items '
        'SET hits = hits + 1 WHERE qty BETWEEN :lo AND :hi", batch_size=10)',
    )
    assert cli(["migrate", "upgrade", "bf000009"], db=declared, env=scripts).exit_code == 0
    result = cli(["migrate", "backfill", "by_qty", *command], db=declared, env=scripts)
    assert result.exit_code == 5, result.stderr
    assert "cannot walk bf_items.qty: it is neither the primary key nor has a unique index" in (
        _last_line(result.stderr)
    )
    assert [row[2] for row in items(declared)] == [0] * ROWS
