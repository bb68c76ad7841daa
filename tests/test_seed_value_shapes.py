"""Each column type takes the value forms docs/seeds.md lists ("Values that fit their
column") and nothing else, the same on every path; a row read back compares as it is
stored; and every type dumps in both formats and loads back to the same stored value.

`EveryType` (tests/seed_models) has a column of each type. Before: digit text or a number
in a Date / DateTime column was Unix time (`20240501` was stored as 1970-08-23), a JSON
`true` in an Integer or Float column was 1, a bare YAML 1:30 in an Interval column 5,400
seconds; the per-row path rewrote a REAL, Float(24) or normalising TypeDecorator column
on every rerun (it compared in Python what the bulk path compares in SQL); and `seed dump`
of an Interval was exit 70.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.services.seed_bulk import BULK_ROWS
from app.services.seed_models import COPY_AT_LEAST
from tests.conftest import fetch
from tests.seed_models import create_tables
from tests.test_seed_tables import ENV, counts, run
from tests.test_seed_value_refusals import assert_refused

HEADER = {"csv": "# {model: EveryType, key: code}", "jsonl": "# {model: EveryType, key: code}"}

# (format, column, the value as the file writes it, the reason the error gives). CSV and
# YAML values are written as they are (YAML unquoted: its own scalars); JSON Lines as JSON.
CASES = [
    ("csv", "aware", "20240501", r"expected an ISO 8601 date and time .*, not '20240501'"),
    ("csv", "naive", "2024", r"expected an ISO 8601 date and time"),
    ("csv", "day", "86400", r"expected an ISO 8601 date such as 2024-05-01, not '86400'"),
    ("csv", "day", "2024-05-01T10:00:00", r"expected an ISO 8601 date such as"),
    ("csv", "at_time", "48600", r"expected a time of day such as 13:30:00"),
    ("csv", "took", "1 day", r"expected an ISO 8601 duration such as P1DT2H"),
    ("csv", "took", "5400", r"expected an ISO 8601 duration"),
    ("csv", "whole", "7.5", r"expected an integer written with the digits 0-9"),
    ("csv", "flag", "2", r"expected true or false \(or 1 / 0\), not '2'"),
    ("csv", "flag", "tru e", r"expected true or false"),
    ("csv", "nums", '"[""1"", 2]"', r"item 0: expected a JSON integer, not '1'"),
    ("jsonl", "aware", 1714557600000, r"expected an ISO 8601 date and time .*the number"),
    ("jsonl", "aware", 1714557600, r"expected an ISO 8601 date and time"),
    ("jsonl", "day", 0, r"expected an ISO 8601 date such as 2024-05-01, not the number 0"),
    ("jsonl", "small", True, r"expected an integer, not the boolean true"),
    ("jsonl", "big", False, r"expected an integer, not the boolean false"),
    ("jsonl", "real", True, r"expected a number, not the boolean true"),
    ("jsonl", "f24", False, r"expected a number, not the boolean false"),
    ("jsonl", "ratio", True, r"expected a number, not the boolean true"),
    ("jsonl", "price", True, r"expected a number, not the boolean true"),
    ("jsonl", "whole", 7.5, r"expected an integer, not the number 7\.5"),
    ("jsonl", "flag", 2, r"expected true or false \(or 1 / 0\), not the number 2"),
    ("jsonl", "took", 90, r"expected an ISO 8601 duration .*not the number 90"),
    ("jsonl", "nums", [True], r"item 0: expected an integer, not the boolean true"),
    ("jsonl", "ref", 7, r"expected a UUID as text"),
    ("jsonl", "mood", True, r"expected one of the enum's values"),
    ("jsonl", "blob", [1], r"expected base64 text, not a list"),
    (
        "yaml",
        "took",
        "1:30",
        r"expected an ISO 8601 duration .*, not the number 90 \(YAML reads an unquoted",
    ),
    ("yaml", "at_time", "13:30", r"expected a time of day .*not the number 810"),
    ("yaml", "day", "2024-05-01 10:00:00", r"expected an ISO 8601 date such as"),
    ("yaml", "doc", "{1: a}", r"a JSON key must be text, not the number 1; quote it"),
    ("yaml", "docb", "[2024-05-01]", r"the date 2024-05-01 is not a JSON value; quote it"),
    ("yaml", "flag", "2", r"expected true or false \(or 1 / 0\), not the number 2"),
    ("yaml", "real", "true", r"expected a number, not the boolean true"),
]


def _file(fmt: str, column: str, value: object, count: int) -> tuple[str, str]:
    """`count` rows of EveryType, the last one giving `value` for `column`."""
    if fmt == "csv":
        lines = [HEADER["csv"], f"code,{column}", *(f"r{i}," for i in range(count - 1))]
        lines.append(f"bad,{value}")
        return "every.csv", "\n".join(lines) + "\n"
    if fmt == "jsonl":
        rows = [json.dumps({"code": f"r{i}"}) for i in range(count - 1)]
        rows.append(json.dumps({"code": "bad", column: value}))
        return "every.jsonl", "\n".join([HEADER["jsonl"], *rows]) + "\n"
    lines = ["model: EveryType", "key: [code]", "rows:"]
    lines += [f"  - {{code: r{i}}}" for i in range(count - 1)]
    lines.append(f"  - {{code: bad, {column}: {value}}}")
    return "every.yaml", "\n".join(lines) + "\n"


@pytest.mark.parametrize("way", ["per_row", "direct", "staged"])
def test_a_value_of_a_form_its_column_does_not_take_is_exit_5_on_every_path(
    cli, db_url, tmp_path: Path, way
) -> None:
    """Exit 5, one line naming file:line(:column), row and field, nothing written: per row
    (3 rows), on the bulk path alone in the run (1,001 rows: direct COPY on PostgreSQL) and
    beside another file of the table (staged). Before, each was stored (exit 0)."""
    create_tables(db_url)
    count = 3 if way == "per_row" else BULK_ROWS + 1
    for n, (fmt, column, value, reason) in enumerate(CASES):
        directory = tmp_path / str(n) / "base"
        directory.mkdir(parents=True)
        name, text = _file(fmt, column, value, count)
        (directory / name).write_text(text, encoding="utf-8")
        if way == "staged":
            (directory / "zz.csv").write_text(f"{HEADER['csv']}\ncode\nzz\n")
        outcome, _ = run(cli, db_url, tmp_path / str(n))
        assert_refused(outcome, db_url, "every_types", name, fmt, column, count, reason)


ACCEPTED_CSV = """\
# {model: EveryType, key: code}
code,flag,small,whole,price,day,aware,naive,at_time,took,nums
a,yes,+7, 12 ,1e2,2024-05-01,2024-05-01,2024-05-01 10:00:00+02:00,13:30,-PT1S,"[1, 2]"
b,OFF,-7,0,.5,2024-02-29,2024-05-01T10:00:00Z,2024-05-01T10:00:00,13:30:05.25,P1DT2H,[]
"""
ACCEPTED_YAML = """\
model: EveryType
key: [code]
rows:
  - {code: c, flag: true, whole: 7, price: 1.5, day: 2024-05-01, aware: 2024-05-01,
     naive: 2024-05-01 10:00:00, at_time: "13:30", took: PT90S, nums: [3]}
"""


def test_the_forms_each_column_takes_are_stored_as_written(cli, db_url, tmp_path: Path) -> None:
    """The accepted neighbours of the refused forms: boolean words, signed and padded
    integers, number text, ISO 8601 dates, timestamps (a date alone is midnight UTC),
    times and durations, YAML's own date and timestamp scalars; a rerun agrees."""
    create_tables(db_url)
    base = tmp_path / "base"
    base.mkdir()
    (base / "every.csv").write_text(ACCEPTED_CSV, encoding="utf-8")
    (base / "more.yaml").write_text(ACCEPTED_YAML, encoding="utf-8")
    outcome, data = run(cli, db_url, tmp_path)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data)["EveryType"] == (3, 0, 0)
    postgres = db_url.startswith("postgresql")
    aware = "to_char(aware AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')" if postgres else "aware"
    naive = "to_char(naive, 'YYYY-MM-DD HH24:MI')" if postgres else "naive"
    rows = fetch(
        db_url,
        f"SELECT code, flag, small, whole, CAST(price AS TEXT), CAST(day AS TEXT), "
        f"substr(CAST({aware} AS TEXT), 1, 16), substr(CAST({naive} AS TEXT), 1, 16), "
        "substr(CAST(at_time AS TEXT), 1, 8) FROM every_types ORDER BY code",
    )
    assert [(r[0], bool(r[1]), *r[2:4], float(r[4]), *r[5:]) for r in rows] == [
        ("a", True, 7, 12, 100.0, "2024-05-01", "2024-05-01 00:00", "2024-05-01 08:00", "13:30:00"),
        ("b", False, -7, 0, 0.5, "2024-02-29", "2024-05-01 10:00", "2024-05-01 10:00", "13:30:05"),
        ("c", True, None, 7, 1.5, "2024-05-01", "2024-05-01 00:00", "2024-05-01 10:00", "13:30:00"),
    ]
    if postgres:
        assert fetch(
            db_url, "SELECT CAST(EXTRACT(EPOCH FROM took) AS TEXT) FROM every_types ORDER BY code"
        ) == [("-1.000000",), ("93600.000000",), ("90.000000",)]
    again, data = run(cli, db_url, tmp_path, "--recheck")
    assert again.exit_code == 0, again.stderr
    assert counts(data)["EveryType"] == (0, 0, 3), data["changes"]


# The ways a section is written, by (rows in the file, a one-row file of the table beside it).
WAYS = {
    "executemany": (3, False),
    "per_row_copy": (COPY_AT_LEAST + 1, False),
    "staged": (BULK_ROWS + 1, True),
    "direct": (BULK_ROWS + 1, False),
}


def _normalised_rows(count: int, real: str, shout: str) -> str:
    lines = [HEADER["csv"], "code,real,f24,ratio,shout"]
    lines += [f"n{i},{real},{real},{real},{shout}" for i in range(count)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("way", list(WAYS))
def test_a_rerun_of_values_the_column_stores_differently_changes_nothing_on_every_path(
    cli, db_url, tmp_path: Path, way
) -> None:
    """REAL and Float(24) keep 0.1 as 0.100000001490116, `Shout` (a TypeDecorator) stores
    `MiXeD` as MIXED: a rerun with --recheck reports every row unchanged and writes
    nothing, as the bulk path (which compares in SQL) always did. A value that really
    changed is still written."""
    create_tables(db_url)
    count, beside = WAYS[way]
    base = tmp_path / "base"
    base.mkdir()
    (base / "every.csv").write_text(_normalised_rows(count, "0.1", "MiXeD"), encoding="utf-8")
    if beside:
        (base / "zz.csv").write_text(f"{HEADER['csv']}\ncode\nzz\n")
    total = count + beside
    outcome, data = run(cli, db_url, tmp_path)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data)["EveryType"] == (total, 0, 0)
    for _ in range(2):
        again, data = run(cli, db_url, tmp_path, "--recheck")
        assert again.exit_code == 0, again.stderr
        assert counts(data)["EveryType"] == (0, 0, total), data["changes"][:3]
    assert fetch(db_url, "SELECT DISTINCT shout FROM every_types WHERE code <> 'zz'") == [
        ("MIXED",)
    ]
    (base / "every.csv").write_text(_normalised_rows(count, "0.25", "other"), encoding="utf-8")
    changed, data = run(cli, db_url, tmp_path)
    assert changed.exit_code == 0, changed.stderr
    assert counts(data)["EveryType"] == (0, count, beside)
    assert fetch(
        db_url, "SELECT DISTINCT real, f24, ratio, shout FROM every_types WHERE code <> 'zz'"
    ) == [(0.25, 0.25, 0.25, "OTHER")]


EVERY = """\
model: EveryType
key: [code]
rows:
  - code: full
    flag: true
    small: -32768
    whole: 2147483647
    big: 9223372036854775807
    real: 0.1
    f24: 3.5
    ratio: 0.30000000000000004
    price: "12345678.1234"
    day: 2024-02-29
    at_time: "13:30:05.123456"
    aware: 2024-05-01T10:00:00.5+02:00
    naive: 2024-05-01T10:00:00
    took: P1DT2H3M4.000005S
    blob: AAEC/w==
    ref: 7d0f5d3e-8c1a-4f0e-9a57-0b7e2c9d1a11
    mood: busy
    doc: {nested: {list: [1, 2.5, "three", null, true]}, empty: {}}
    docb: [1, {"k": "v"}]
    nums: [1, -2, 3]
    shout: MiXeD
    body: "two\\nlines"
  - code: negative
    flag: false
    took: -PT0.000001S
    doc: "just text"
    nums: []
  - {code: empty}
"""


def run_file(cli, db_url: str, path: Path, *extra: str):
    outcome = cli(["seed", "run", str(path), "--json", *extra], db=db_url, env=ENV)
    return outcome, json.loads(outcome.stdout)["data"] if outcome.stdout else None


def _stored(url: str) -> list[tuple]:
    from tests.seed_models import EveryType

    postgres = url.startswith("postgresql")
    parts = []
    for column in EveryType.__table__.columns:
        name = column.name
        if postgres and name in ("doc", "docb"):
            parts.append(f"CAST(CAST({name} AS jsonb) AS TEXT)")
        elif name == "blob":
            parts.append("encode(blob, 'hex')" if postgres else "hex(blob)")
        else:
            parts.append(f"CAST({name} AS TEXT)")
    return fetch(url, f"SELECT {', '.join(parts)} FROM every_types ORDER BY code")


@pytest.mark.parametrize("form", ["yaml", "json"])
def test_every_column_type_dumps_and_loads_back_to_the_same_stored_values(
    cli, db_url, backend, scratch, tmp_path: Path, form
) -> None:
    """`seed dump every_types` (YAML, or --json's data written to a file) of a row with every
    type (an Interval too: the YAML dump was exit 70), run back into the same database
    changes nothing, and into a fresh one stores the same values, which dump the same."""
    create_tables(db_url)
    (tmp_path / "every.yaml").write_text(EVERY, encoding="utf-8")
    first, data = run_file(cli, db_url, tmp_path / "every.yaml")
    assert first.exit_code == 0, first.stderr
    args = ["seed", "dump", "every_types", *(["--json"] * (form == "json"))]
    dumped = cli(args, db=db_url)
    assert dumped.exit_code == 0, dumped.stderr
    text = dumped.stdout
    if form == "json":  # the envelope's data is the seed document; JSON is YAML
        text = json.dumps(json.loads(text)["data"])
    else:
        assert "took: P1DT2H3M4.000005S" in text and "took: -PT0.000001S" in text
    (tmp_path / "dump.yaml").write_text(text, encoding="utf-8")

    again, data = run_file(cli, db_url, tmp_path / "dump.yaml", "--recheck")
    assert again.exit_code == 0, again.stderr
    assert counts(data) == {"EveryType": (0, 0, 3)}, data["changes"]

    fresh = scratch.migrated(backend)
    create_tables(fresh)
    loaded, data = run_file(cli, fresh, tmp_path / "dump.yaml")
    assert loaded.exit_code == 0, loaded.stderr
    assert counts(data) == {"EveryType": (3, 0, 0)}
    assert _stored(fresh) == _stored(db_url)
    _rerun, data = run_file(cli, fresh, tmp_path / "dump.yaml", "--recheck")
    assert counts(data) == {"EveryType": (0, 0, 3)}, data["changes"]
    assert cli(args, db=fresh).stdout == dumped.stdout


CHANGED = """\
model: EveryType
key: [code]
rows:
  - code: full
    flag: false
    small: 1
    whole: 2
    big: 3
    real: 0.2
    f24: 4.5
    ratio: 0.5
    price: "1.5"
    day: 2024-03-01
    at_time: "14:00:00"
    aware: 2024-06-01T10:00:00Z
    naive: 2024-06-01T10:00:00
    took: PT1H
    blob: aGk=
    ref: 00000000-0000-4000-8000-000000000001
    mood: calm
    doc: {other: 1}
    docb: [2]
    nums: [4]
    shout: quiet
    body: one line
"""


def test_a_rerun_that_changes_every_column_writes_every_column(cli, db_url, tmp_path: Path) -> None:
    """The database is asked about each column Python finds different (cast to the column
    type: an enum, an array, an interval, a UUID, bytes...): every one is reported and
    written, and the next rerun is unchanged."""
    from tests.seed_models import EveryType

    create_tables(db_url)
    (tmp_path / "every.yaml").write_text(EVERY, encoding="utf-8")
    assert run_file(cli, db_url, tmp_path / "every.yaml")[0].exit_code == 0
    (tmp_path / "every.yaml").write_text(CHANGED, encoding="utf-8")
    outcome, data = run_file(cli, db_url, tmp_path / "every.yaml")
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data) == {"EveryType": (0, 1, 0)}
    names = sorted(c.name for c in EveryType.__table__.columns if c.name != "code")
    assert data["changes"][0]["fields"] == names
    assert fetch(db_url, "SELECT shout, body, whole FROM every_types WHERE code = 'full'") == [
        ("QUIET", "one line", 2)
    ]
    _again, data = run_file(cli, db_url, tmp_path / "every.yaml", "--recheck")
    assert counts(data) == {"EveryType": (0, 0, 1)}, data["changes"]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "users.csv",
            "# {model: User, key: email}\nemail,hashed_password,created_at\n"
            "a@example.com,h,20240501\n",
            r"users\.csv:3:\d+: rows\[0\]\.created_at: expected an ISO 8601 date and time",
        ),
        (
            "users.jsonl",
            '# {model: User, key: email}\n{"email": "a@example.com", "hashed_password": "h", '
            '"created_at": 1714557600000}\n',
            r"users\.jsonl:2:\d+: rows\[0\]\.created_at: expected an ISO 8601 date and time",
        ),
        (
            "users.jsonl",
            '# {model: User, key: email}\n{"email": "a@example.com", "hashed_password": "h", '
            '"id": true}\n',
            r"users\.jsonl:2:\d+: rows\[0\]\.id: expected an integer, not the boolean true",
        ),
    ],
)
def test_unix_time_and_a_boolean_id_are_exit_5_from_the_real_console_script(
    manage_proc, db_url, tmp_path: Path, name, text, expected
) -> None:
    base = tmp_path / "seeds" / "base"
    base.mkdir(parents=True)
    (base / name).write_text(text, encoding="utf-8")
    outcome = manage_proc(["seed", "run", "--seeds-dir", str(tmp_path / "seeds")], db=db_url)
    assert outcome.exit_code == 5, outcome.stderr
    assert re.match(rf"error: .*{expected}", outcome.stderr), outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]
