"""A recognised rerun (tests/test_seed_unchanged.py) and other transactions, on PostgreSQL,
with real `manage` processes. SQLite needs none of this: every run's transaction begins
IMMEDIATE, so no other writer commits while a run reads."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest

from app.services.convergence import DECLARATIVE_LOCK_KEY
from tests.conftest import MANAGE_BIN, fetch, manage_env, run_async, until_a_lock_is_awaited
from tests.test_seed_unchanged import ROLES_CSV, counts, runs, seed_files


async def _manage(db_url: str, cwd: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        str(MANAGE_BIN),
        *args,
        cwd=cwd,
        env=manage_env(db_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _result(process: asyncio.subprocess.Process) -> dict:
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return json.loads(out)["data"]


def test_a_rerun_decides_only_once_it_holds_the_seed_lock(cli, pg_db_url, tmp_path) -> None:
    """An edit committed while the rerun waits for the lock (behind another declarative
    write) is seen: the rerun puts the row back instead of reporting it unchanged."""
    seed_files(tmp_path, roles_csv=ROLES_CSV)
    assert cli(["seed", "run"], db=pg_db_url).exit_code == 0

    async def scenario() -> dict:
        conn = await asyncpg.connect(pg_db_url)
        try:
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute("SELECT pg_advisory_xact_lock($1)", DECLARATIVE_LOCK_KEY)
            await conn.execute("UPDATE roles SET description = 'edited' WHERE name = 'r2'")
            process = await _manage(pg_db_url, tmp_path, "seed", "run", "--json")
            await until_a_lock_is_awaited(conn, "advisory")
            await transaction.commit()
            return await _result(process)
        finally:
            await conn.close()

    data = run_async(scenario())
    assert counts(data) == {"Role": (0, 1, 2)}
    assert fetch(pg_db_url, "SELECT description FROM roles WHERE name = 'r2'") == [("two",)]


EDITS = {
    "updated": ("UPDATE roles SET description = 'edited' WHERE name = 'r1'", (0, 1, 2)),
    "deleted": ("DELETE FROM roles WHERE name = 'r1'", (1, 0, 2)),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edit_committed_while_a_run_reads_is_not_recorded_as_seeded(
    cli, pg_db_url, tmp_path, edit
) -> None:
    """The run reads r1 as seeded, then waits on a row lock (r2) while someone edits or
    deletes r1 and commits: its end state holds a change it never compared, so it records
    no fingerprint, and the next run reads every row and puts r1 back."""
    statement, expected = EDITS[edit]
    directory = seed_files(tmp_path, roles_csv=ROLES_CSV)
    assert cli(["seed", "run"], db=pg_db_url).exit_code == 0
    (directory / "roles.csv").write_text(ROLES_CSV.replace("r2,two", "r2,two-b"), "utf-8")

    async def scenario() -> dict:
        holder = await asyncpg.connect(pg_db_url)
        editor = await asyncpg.connect(pg_db_url)
        try:
            transaction = holder.transaction()
            await transaction.start()
            await holder.execute("SELECT 1 FROM roles WHERE name = 'r2' FOR UPDATE")
            process = await _manage(pg_db_url, tmp_path, "seed", "run", "--json")
            # its UPDATE of r2, after reading r1
            await until_a_lock_is_awaited(holder, "transactionid")
            await editor.execute(statement)
            await transaction.rollback()
            return await _result(process)
        finally:
            await holder.close()
            await editor.close()

    data = run_async(scenario())
    assert counts(data) == {"Role": (0, 1, 2)}
    assert runs(pg_db_url)[-1][1] is None
    again = cli(["seed", "run", "--json"], db=pg_db_url)
    assert counts(json.loads(again.stdout)["data"]) == {"Role": expected}
    assert fetch(pg_db_url, "SELECT description FROM roles WHERE name = 'r1'") == [("one",)]


@pytest.mark.parametrize("reset_to", [1, 5000])
def test_a_recognised_rerun_catches_the_id_sequence_up_as_a_full_run_does(
    cli, pg_db_url, tmp_path, reset_to
) -> None:
    """A large section giving explicit ids sets the sequence to max(id) on every run; so
    does a recognised rerun (behind: the next id would collide; ahead: a full run lowers
    it too)."""
    rows = "".join(f"{i},role{i}\n" for i in range(1, 1102))
    seed_files(tmp_path, roles_csv="# {model: Role, key: name}\nid,name\n" + rows)
    assert cli(["seed", "run"], db=pg_db_url).exit_code == 0
    sequence = "pg_get_serial_sequence('roles', 'id')"
    fetch(pg_db_url, f"SELECT setval({sequence}, {reset_to})")
    outcome = cli(["seed", "run", "--json"], db=pg_db_url)
    assert counts(json.loads(outcome.stdout)["data"]) == {"Role": (0, 0, 1101)}
    assert runs(pg_db_url)[-1][1] == runs(pg_db_url)[0][1]  # recognised
    assert fetch(pg_db_url, f"SELECT nextval({sequence})") == [(1102,)]
