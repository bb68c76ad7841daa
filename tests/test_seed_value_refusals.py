"""A value a file can hold is stored exactly as written or refused: exit 5, one line naming
file:line(:column), nothing written. Never exit 70, never a different value.

Each case is loaded per row (a 3-row file), on the bulk path alone in the run (1,001 rows:
the direct path on PostgreSQL) and beside another file of its table (staged), with the bad
row last. Before: a JSON "\\ud800" was exit 70 (the driver could not encode it), a timestamp
leaving the years 1-9999 in UTC was exit 70 (OverflowError), 0001-01-01 / 9999-12-31 were
stored as -infinity / infinity, a Float 1e400 as Infinity, a JSON number kept only a
double's digits, a 7th fractional second digit was cut, and "1_000" or Arabic-Indic digits
were read as numbers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.services.seed_bulk import BULK_ROWS
from tests.conftest import fetch
from tests.seed_models import create_tables
from tests.test_seed_tables import run


class Raw(str):
    """JSON text written into a JSON Lines row as it is (a number a double would change)."""


# (format, column, value as the file writes it, the reason the error gives)
CASES = [
    ("jsonl", "code", "\ud800", r"contains a lone surrogate \(\\ud800\)"),
    ("jsonl", "doc", {"k": "a\udfffb"}, r"contains a lone surrogate \(\\udfff\)"),
    ("jsonl", "doc", {"\ud800": 1}, r"contains a lone surrogate"),
    ("csv", "aware", "0001-01-01T00:00:00+14:00", "outside the years 1 to 9999 once converted"),
    ("yaml", "naive", "9999-12-31T23:00:00-05:00", "outside the years 1 to 9999 once converted"),
    ("csv", "day", "0001-01-01", "0001-01-01 is sent as -infinity by the PostgreSQL driver"),
    ("jsonl", "day", "9999-12-31", "9999-12-31 is sent as infinity by the PostgreSQL driver"),
    ("csv", "aware", "0001-01-01T00:00:00Z", "is sent as -infinity by the PostgreSQL driver"),
    ("yaml", "naive", "9999-12-31T23:59:59.999999", "is sent as infinity by the PostgreSQL"),
    ("csv", "ratio", "1e400", "not a finite number"),
    ("jsonl", "ratio", "nan", "not a finite number"),
    ("jsonl", "ratio", Raw("1e400"), "not a finite number"),
    ("csv", "doc", '"{""n"": 0.1234567890123456789}"', r"the JSON number 0\.1234567890123456789 "),
    ("jsonl", "doc", Raw('{"n": 0.1234567890123456789}'), r"would be stored as 0\.1234567890"),
    ("jsonl", "big", Raw("12345678901234567890.123"), r"the JSON number 12345678901234567890"),
    ("csv", "naive", "2024-05-01T10:00:00.1234567", "more than 6 fractional digits of a second"),
    ("yaml", "at_time", "10:00:00.0000001", "more than 6 fractional digits of a second"),
    ("jsonl", "took", "PT0.0000001S", "more than 6 fractional digits of a second"),
    ("csv", "big", "1_000", "expected a number written with the digits 0-9"),
    ("csv", "fine", "\u0661\u0662\u0663", "expected a number written with the digits 0-9"),
    ("yaml", "ratio", "1_0.5", "expected a number written with the digits 0-9"),
    ("csv", "free", "1e200000", "out of range for PostgreSQL's numeric type"),
    ("csv", "big", "1e999999999", r"out of range for Numeric\(30, 3\)"),
]
FIRST_ROW_LINE = {"csv": 3, "jsonl": 2, "yaml": 4}


def assert_refused(
    outcome: Any,
    db_url: str,
    table: str,
    name: str,
    fmt: str,
    column: str,
    count: int,
    reason: str,
) -> None:
    """Exit 5, one line: `name`:line(:column) of the last of `count` rows, the row and
    `column`, then `reason` (a regex); nothing written into `table`."""
    case = (name, column, reason)
    assert outcome.exit_code == 5, (case, outcome.stderr)
    line = FIRST_ROW_LINE[fmt] + count - 1
    where = rf"{re.escape(name)}:{line}(:\d+)?: (models\[0\]\.)?rows\[{count - 1}\]\.{column}: "
    assert re.match(rf"error: .*{where}{reason}", outcome.stderr), (case, outcome.stderr)
    assert len(outcome.stderr.splitlines()) == 1, (case, outcome.stderr)
    assert fetch(db_url, f"SELECT count(*) FROM {table}") == [(0,)], case


def _file(fmt: str, column: str, value: object, count: int) -> tuple[str, str]:
    """`count` rows of Typed, the last one giving `value` for `column`."""
    if fmt == "csv":
        lines = ["# {model: Typed, key: code}", f"code,{column}"]
        lines += [f"r{i}," for i in range(count - 1)]
        lines.append(f"bad,{value}" if column != "code" else f"{value},")
        return "typed.csv", "\n".join(lines) + "\n"
    rows: list[dict[str, object]] = [{"code": f"r{i}"} for i in range(count - 1)]
    rows.append({"code": "bad", column: value})
    if fmt == "jsonl":
        text = [json.dumps(r) for r in rows]
        if isinstance(value, Raw):
            text[-1] = text[-1].replace(json.dumps(value), value)
        return "typed.jsonl", "\n".join(["# {model: Typed, key: code}", *text]) + "\n"
    lines = ["model: Typed", "key: [code]", "rows:", *(f"  - {json.dumps(r)}" for r in rows)]
    return "typed.yaml", "\n".join(lines) + "\n"


@pytest.mark.parametrize("way", ["per_row", "direct", "staged"])
def test_a_value_that_cannot_be_stored_as_written_is_exit_5_on_every_path(
    cli, db_url, tmp_path: Path, way
) -> None:
    create_tables(db_url)
    count = 3 if way == "per_row" else BULK_ROWS + 1
    for n, (fmt, column, value, reason) in enumerate(CASES):
        directory = tmp_path / str(n) / "base"
        directory.mkdir(parents=True)
        name, text = _file(fmt, column, value, count)
        (directory / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        if way == "staged":
            (directory / "zz.csv").write_text("# {model: Typed, key: code}\ncode\nzz\n")
        outcome, _ = run(cli, db_url, tmp_path / str(n))
        assert_refused(outcome, db_url, "typed_values", name, fmt, column, count, f".*{reason}")


def test_values_at_the_edges_that_fit_are_stored_exactly(cli, db_url, tmp_path: Path) -> None:
    """The neighbours of the refused values are stored as written, and a rerun agrees."""
    create_tables(db_url)
    text = (
        "# {model: Typed, key: code}\n"
        "code,day,naive,aware,ratio,big,at_time\n"
        "a,0001-01-02,0001-01-01T00:00:00.000001,9999-12-31T23:59:59.999998Z,-1.5e308,"
        " 12 ,10:00:00.1234560\n"
        "b,9999-12-30,9999-12-31T23:59:59.999998,0001-01-01T00:00:00.000001+00:00,0.1,-0.5,\n"
    )
    directory = tmp_path / "base"
    directory.mkdir()
    (directory / "typed.csv").write_text(text, encoding="utf-8")
    outcome, _ = run(cli, db_url, tmp_path)
    assert outcome.exit_code == 0, outcome.stderr
    assert fetch(
        db_url,
        "SELECT code, CAST(day AS TEXT), CAST(at_time AS TEXT) FROM typed_values ORDER BY code",
    ) == [("a", "0001-01-02", "10:00:00.123456"), ("b", "9999-12-30", None)]
    if db_url.startswith("postgresql"):
        assert fetch(
            db_url,
            "SELECT CAST(naive AS TEXT), CAST(aware AT TIME ZONE 'UTC' AS TEXT), "
            "CAST(big AS TEXT) FROM typed_values ORDER BY code",
        ) == [
            ("0001-01-01 00:00:00.000001", "9999-12-31 23:59:59.999998", "12.000"),
            ("9999-12-31 23:59:59.999998", "0001-01-01 00:00:00.000001", "-0.500"),
        ]
    again, data = run(cli, db_url, tmp_path, "--recheck")
    assert again.exit_code == 0, again.stderr
    assert data["models"][0]["unchanged"] == 2


def test_a_lone_surrogate_and_a_timestamp_overflow_are_exit_5_from_the_real_console_script(
    manage_proc, db_url, tmp_path: Path
) -> None:
    base = tmp_path / "seeds" / "base"
    base.mkdir(parents=True)
    (base / "users.jsonl").write_text(
        "# {model: User, key: email}\n"
        '{"email": "a@example.com", "hashed_password": "h", "full_name": "\\ud800"}\n',
        encoding="utf-8",
    )
    outcome = manage_proc(["seed", "run", "--seeds-dir", str(tmp_path / "seeds")], db=db_url)
    assert outcome.exit_code == 5, outcome.stderr
    assert re.match(
        r"error: .*users\.jsonl:2:\d+: rows\[0\]\.full_name: contains a lone surrogate",
        outcome.stderr,
    ), outcome.stderr
    (base / "users.jsonl").unlink()
    (base / "users.csv").write_text(
        "# {model: User, key: email}\nemail,hashed_password,created_at\n"
        "a@example.com,h,0001-01-01T00:00:00+14:00\n",
        encoding="utf-8",
    )
    outcome = manage_proc(["seed", "run", "--seeds-dir", str(tmp_path / "seeds")], db=db_url)
    assert outcome.exit_code == 5, outcome.stderr
    assert re.match(
        r"error: .*users\.csv:3:\d+: rows\[0\]\.created_at: outside the years 1 to 9999",
        outcome.stderr,
    ), outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]
