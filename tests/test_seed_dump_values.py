"""`seed dump` writes only what `seed run` takes and stores back as it was; any other value
the database holds is exit 5 at dump time naming the table, the row (by its key) and the
column, and no file is written.

Before: a PostgreSQL `time '24:00:00'` was exit 70 (asyncpg's decoder fails on it), and on
SQLite any text SQLAlchemy cannot read back in a Date or Time column; a Float NaN or
Infinity, a Numeric NaN, a date or timestamp at +/-infinity (dumped as 9999-12-31 /
0001-01-01), a date at the calendar's ends and an integer[] with a NULL item were dumped
into files `seed run` then refused; an interval with months (`1 mon`, which asyncpg hands
over as 30 days) was dumped as P30D and loaded back as days, a silent change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.services.seed_bulk import BULK_ROWS
from tests.conftest import REPO, fetch, manage_env
from tests.seed_models import create_tables
from tests.test_seed_tables import ENV, counts

GOOD = "INSERT INTO every_types (code, whole) VALUES ('a', 1)"

# (column, the value as SQL, what the one error line says the column holds)
POSTGRES_CASES = [
    ("at_time", "'24:00:00'", "24:00:00, which a seed file cannot hold"),
    ("ratio", "'NaN'", "nan, which seed run refuses (not a finite number)"),
    ("ratio", "'Infinity'", "inf, which seed run refuses"),
    ("real", "'-Infinity'", "-inf, which seed run refuses"),
    ("price", "'NaN'", "'NaN', which seed run refuses"),
    ("aware", "'-infinity'", "infinity or -infinity, which a seed file cannot hold"),
    ("naive", "'infinity'", "infinity or -infinity, which a seed file cannot hold"),
    ("day", "'infinity'", "infinity or -infinity, which a seed file cannot hold"),
    ("day", "'0001-01-01'", "'0001-01-01', which seed run refuses"),
    ("took", "'1 mon'", "an interval with months or years"),
    ("took", "'-1 year 2 days'", "an interval with months or years"),
    ("nums", "'{1,NULL}'", "[1, None], which seed run refuses"),
]
SQLITE_CASES = [
    ("ratio", "9e999", "inf, which seed run refuses (not a finite number)"),
    ("at_time", "'24:00:00'", "'24:00:00', which is not a TIME value"),
    ("day", "'2024-02-30'", "'2024-02-30', which is not a DATE value"),
    ("nums", "'[1, null]'", "[1, None], which seed run refuses"),
]


def _dump(cli, url: str, *args: str):
    return cli(["seed", "dump", "every_types", *args], db=url)


def _refused(outcome, column: str, holds: str, code: str = "b") -> None:
    assert outcome.exit_code == 5, (outcome.stdout, outcome.stderr)
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, outcome.stderr
    assert lines[0].startswith(
        f"error: cannot dump every_types row code='{code}': column {column} holds {holds}"
    ), lines[0]
    assert lines[0].endswith("; change or leave out that row")


def _check(cli, url: str, tmp_path: Path, column: str, value: str, holds: str) -> None:
    create_tables(url)
    fetch(url, GOOD)
    fetch(url, f"INSERT INTO every_types (code, {column}) VALUES ('b', {value})")
    out = tmp_path / "dump.yaml"
    _refused(_dump(cli, url, "--output", str(out)), column, holds)
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing half-written
    to_stdout = _dump(cli, url)
    _refused(to_stdout, column, holds)
    assert to_stdout.stdout == ""
    fetch(url, "DELETE FROM every_types WHERE code = 'b'")
    assert _dump(cli, url, "--output", str(out)).exit_code == 0  # the other rows dump


@pytest.mark.parametrize(
    ("column", "value", "holds"), POSTGRES_CASES, ids=[f"{c[0]}={c[1]}" for c in POSTGRES_CASES]
)
def test_a_postgres_value_no_seed_file_can_hold_is_exit_5_naming_row_and_column(
    cli, pg_db_url, tmp_path: Path, column, value, holds
) -> None:
    _check(cli, pg_db_url, tmp_path, column, value, holds)


@pytest.mark.parametrize(
    ("column", "value", "holds"), SQLITE_CASES, ids=[f"{c[0]}={c[1]}" for c in SQLITE_CASES]
)
def test_a_sqlite_value_no_seed_file_can_hold_is_exit_5_naming_row_and_column(
    cli, scratch, tmp_path: Path, column, value, holds
) -> None:
    _check(cli, scratch.migrated("sqlite"), tmp_path, column, value, holds)


RUN_WITH_TEST_MODELS = (
    "import sys; import tests.seed_models; from manage.__main__ import main; "
    "sys.argv[0] = 'manage'; main()"
)


def test_time_24_00_was_exit_70_and_is_exit_5_from_a_real_manage_process(
    pg_db_url, tmp_path: Path
) -> None:
    create_tables(pg_db_url)
    fetch(pg_db_url, "INSERT INTO every_types (code, at_time) VALUES ('b', '24:00:00')")
    out = tmp_path / "dump.yaml"
    proc = subprocess.run(
        [sys.executable, "-c", RUN_WITH_TEST_MODELS, "seed", "dump", "every_types", "-o", str(out)],
        env=manage_env(pg_db_url),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 5, proc.stderr
    assert proc.stderr.startswith(
        "error: cannot dump every_types row code='b': column at_time holds 24:00:00"
    ), proc.stderr
    assert not out.exists()


def test_a_large_table_is_refused_at_its_last_row_and_once_fixed_loads_back_on_the_bulk_paths(
    cli, db_url, backend, scratch, tmp_path: Path
) -> None:
    """1,001 rows (the bulk path; on PostgreSQL a first load is the direct COPY): the one
    bad row at the end is named, and once it is changed the dump loads into a fresh database
    storing the same values, and a rerun (staged) changes nothing."""
    create_tables(db_url)
    rows = BULK_ROWS + 1
    series = (
        f"SELECT x FROM generate_series(1, {rows}) AS x"
        if backend == "postgresql"
        else f"WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {rows}) "
        "SELECT x FROM s"
    )
    fetch(
        db_url,
        "INSERT INTO every_types (code, whole, ratio) "
        f"SELECT 'r' || (100000 + x), x, x * 0.25 FROM ({series}) AS t",
    )
    last = f"r{100000 + rows}"
    infinity = "'Infinity'" if backend == "postgresql" else "9e999"
    fetch(db_url, f"UPDATE every_types SET ratio = {infinity} WHERE code = '{last}'")
    out = tmp_path / "dump.yaml"
    _refused(_dump(cli, db_url, "-o", str(out)), "ratio", "inf, which seed", code=last)
    assert not out.exists()

    fetch(db_url, f"UPDATE every_types SET ratio = 1.5 WHERE code = '{last}'")
    assert _dump(cli, db_url, "-o", str(out)).exit_code == 0
    fresh = scratch.migrated(backend)
    create_tables(fresh)
    loaded = cli(["seed", "run", str(out), "--json"], db=fresh, env=ENV)
    assert loaded.exit_code == 0, loaded.stderr
    assert counts(json.loads(loaded.stdout)["data"]) == {"EveryType": (rows, 0, 0)}
    stored = "SELECT code, whole, ratio FROM every_types ORDER BY code"
    assert fetch(fresh, stored) == fetch(db_url, stored)
    again = cli(["seed", "run", str(out), "--json", "--recheck"], db=fresh, env=ENV)
    assert counts(json.loads(again.stdout)["data"]) == {"EveryType": (0, 0, rows)}
