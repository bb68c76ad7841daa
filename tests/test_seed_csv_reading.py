"""CSV seed files are read strictly, and a file that breaks the format names the field.

tests/csv_corpus/ holds CSV files as people and exporters write them, each with its verdict
beside it (`NAME.expect`): either the one error line a run must give (`{file}` is the
file's path as shown) or the rows it must load (`SELECT email, full_name FROM users`, as
JSON). A stray quote used to run its field on to the end of the file and the run exited 0
with the rows after it silently gone; a byte that is not UTF-8 was reported thousands of
lines early; a column named twice kept its last cell.

The reading is shared by every path (per row, staged, direct COPY): the large-file tests
put the same faults late in files that take the bulk paths.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.services.seed_bulk import BULK_ROWS
from tests.conftest import fetch
from tests.seed_models import create_tables
from tests.test_seed_direct_parity import written_by_the_run
from tests.test_seed_tables import run, seed_set

CORPUS = Path(__file__).parent / "csv_corpus"
CASES = sorted(CORPUS.glob("*.csv"))
USERS = "SELECT email, full_name FROM users ORDER BY email"


def written(url: str) -> list[tuple]:
    return fetch(url, "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM audit_log)")


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_each_corpus_file_loads_its_rows_or_is_exit_5_with_its_one_line_error(
    cli, db_url, tmp_path, case
) -> None:
    create_tables(db_url)
    directory = tmp_path / "seeds" / "base"
    directory.mkdir(parents=True)
    (directory / case.name).write_bytes(case.read_bytes())
    outcome, _ = run(cli, db_url, tmp_path / "seeds")
    expect = case.with_suffix(".expect").read_text(encoding="utf-8").strip()
    if expect.startswith("error: "):
        assert outcome.exit_code == 5, outcome.stderr
        assert outcome.stderr.splitlines() == [expect.format(file=f"seeds/base/{case.name}")]
        assert written(db_url) == [(0, 0)]
        assert fetch(db_url, "SELECT count(*) FROM items") == [(0,)]
    else:
        assert outcome.exit_code == 0, outcome.stderr
        assert [list(row) for row in fetch(db_url, USERS)] == json.loads(expect)


ROWS = 12_000  # three chunks of 5,000 (STAGE_CHUNK): two are written before row 11,000
BAD = 11_000
LINE = BAD + 3  # the model line and the header come first


def users_csv(fault: str) -> bytes:
    """ROWS users; row BAD breaks the format as `fault` says."""
    lines = [b"# {model: User, key: email}", b"email,full_name,hashed_password"]
    for i in range(ROWS):
        name = f"User {i}".encode()
        if i == BAD:
            name = {
                "unclosed": b'"Dell 27in',
                "text after the quote": b'"Best" seller',
                "bare quote": b'Dell 27" screen',
                "cp1252": b"Caf\xe9",
            }.get(fault, b'"Dell 27in')
        elif i == BAD + 500 and fault == "swallows":
            name = b'Dell 27" screen'
        lines.append(b"u%d@example.com,%s,h-%d" % (i, name, i))
    return b"\n".join(lines) + b"\n"


FIELD = f"seeds/base/users.csv:{LINE}:{len(f'u{BAD}@example.com,') + 1}: rows[{BAD}].full_name"
LATE_FAULTS = {
    "unclosed": f"{FIELD}: a quoted field starts here and never closes (no closing quote "
    "before the end of the file)",
    "swallows": f"{FIELD}: a quoted field starts here and runs on to line {LINE + 500}, where "
    "text follows its closing quote (column 28): a quote that never closes, or one not doubled?",
    "text after the quote": f"{FIELD}: text after the closing quote (column 26): quote the "
    'whole field and double each quote inside it ("5"" screen")',
    "bare quote": f"{FIELD}: a quote inside an unquoted field (column 27): quote the whole "
    'field and double each quote inside it ("5"" screen")',
    "cp1252": f"seeds/base/users.csv:{LINE}:23: not UTF-8 (byte 0xe9); save the file as UTF-8",
}


@pytest.mark.parametrize("fault", LATE_FAULTS)
@pytest.mark.parametrize("path", ["direct or staged", "staged"])
def test_a_fault_late_in_a_large_file_is_exit_5_at_its_field_on_every_path_and_writes_nothing(
    cli, db_url, tmp_path, fault, path
) -> None:
    """PostgreSQL COPYs a first load straight into the table (two chunks are in before row
    11,000 is read); a second file of the table keeps it on the staged path, as SQLite is."""
    files = {"users.csv": users_csv(fault)}
    if path == "staged":
        files["zz.csv"] = b"# {model: User, key: email}\nemail,hashed_password\nzz@x.io,h\n"
    directory = tmp_path / "seeds" / "base"
    directory.mkdir(parents=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    outcome, _ = run(cli, db_url, tmp_path / "seeds")
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.splitlines() == [f"error: {LATE_FAULTS[fault]}"]
    assert written(db_url) == [(0, 0)]


def test_the_late_faults_load_once_mended_through_the_direct_path(cli, pg_db_url, tmp_path):
    """The large-file test above reaches the direct path: the same file, mended, is COPYed."""
    text = users_csv("none").replace(b'"Dell 27in', b'"Dell 27in"')
    outcome, _ = run(cli, pg_db_url, seed_set(tmp_path, users_csv=text.decode()))
    assert outcome.exit_code == 0, outcome.stderr
    assert written_by_the_run(pg_db_url, "users") == 0  # every row came through the direct path
    assert fetch(pg_db_url, f"SELECT full_name FROM users WHERE email = 'u{BAD}@example.com'") == [
        ("Dell 27in",)
    ]


@pytest.mark.parametrize("rows", [10, BULK_ROWS + 200])
def test_a_multi_line_quoted_field_on_every_path_keeps_the_rows_after_it(
    cli, db_url, tmp_path, rows
) -> None:
    lines = ["# {model: User, key: email}", "email,full_name,hashed_password"]
    lines += [f'u{i}@example.com,"{i} Main St\r\nSpringfield, ""Up""",h' for i in range(rows)]
    outcome, _ = run(cli, db_url, seed_set(tmp_path, users_csv="\n".join(lines) + "\n"))
    assert outcome.exit_code == 0, outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM users") == [(rows,)]
    assert fetch(db_url, "SELECT full_name FROM users WHERE email = 'u7@example.com'") == [
        ('7 Main St\r\nSpringfield, "Up"',)
    ]


def test_a_byte_that_is_not_utf_8_in_json_lines_is_named_at_its_line_and_column(
    cli, db_url, tmp_path
) -> None:
    lines = [b"# {model: User, key: email}"]
    lines += [b'{"email": "u%d@example.com", "hashed_password": "h"}' % i for i in range(2000)]
    lines.append(b'{"email": "caf\xe9@example.com", "hashed_password": "h"}')
    directory = tmp_path / "seeds" / "base"
    directory.mkdir(parents=True)
    (directory / "users.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    outcome, _ = run(cli, db_url, tmp_path / "seeds")
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.splitlines() == [
        "error: seeds/base/users.jsonl:2002:15: not UTF-8 (byte 0xe9); save the file as UTF-8"
    ]
    assert written(db_url) == [(0, 0)]


def test_a_header_wider_than_its_table_is_refused_before_any_row_is_read(
    cli, db_url, tmp_path
) -> None:
    """50,000 header names used to be read (with 1,100 rows: 518 MiB); every name must be a
    column of the table (or of the table its foreign key references), each named once."""
    create_tables(db_url)
    header = ",".join(["name"] + [f"owner_id.c{i}" for i in range(50_000)])
    row = ",".join(["lamp"] + ["x"] * 50_000)
    text = "# {model: Item, key: name}\n" + header + "\n" + (row + "\n") * 20
    outcome, _ = run(cli, db_url, seed_set(tmp_path, items_csv=text))
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.splitlines() == [
        "error: seeds/base/items.csv:2:6: users has no column 'c0'"
    ]


def test_the_attack_file_as_a_real_process_is_exit_5_at_row_10_not_10_created(
    manage_proc, pg_db_url, tmp_path
) -> None:
    """1,500 rows, row 10 a quote never closed: the run said `10 created` and exited 0."""
    lines = ["# {model: User, key: email}", "email,full_name,hashed_password"]
    lines += [f"p{i}@example.com,product {i},h" for i in range(1, 1501)]
    lines[11] = 'p10@example.com,product 10,"h'
    seeds = seed_set(tmp_path, users_csv="\n".join(lines) + "\n")
    outcome = manage_proc(["seed", "run", "--seeds-dir", str(seeds)], db=pg_db_url)
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.splitlines() == [
        "error: seeds/base/users.csv:12:28: rows[9].hashed_password: a quoted field starts "
        "here and never closes (no closing quote before the end of the file)"
    ]
    assert written(pg_db_url) == [(0, 0)]
