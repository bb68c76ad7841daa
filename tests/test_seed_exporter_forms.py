"""Values as real exporters write them load the same in every format and on every path
(per row, staged, direct COPY: docs/seeds.md "Large loads"), and a form still refused says
which form is expected.

Before: PostgreSQL's own timestamptz text (`2024-05-01 08:00:00.5+00`: psql, COPY CSV,
pg_dump) was refused with pydantic's "unexpected extra characters"; an ISO duration with
months or years (`P1M`, `P1Y`) was stored as 30 / 365 days; a JSON 1 / 0 in a Boolean
column, ` yes ` with spaces, a date at midnight `2024-05-01 00:00:00` and an integer written
`7.0` were refused; `1e-400` in a Float column was stored as 0; a PostgreSQL array `{1,2}`
got a JSON parser's message; an enum's stored name (`happy`, as SQLAlchemy writes it) was
refused; and a stored `1 year` compared equal to P365D per row but not in bulk.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.services.seed_bulk import BULK_ROWS
from tests.conftest import fetch
from tests.seed_models import create_tables
from tests.test_seed_tables import counts, run
from tests.test_seed_value_refusals import assert_refused

HEADER = "# {model: EveryType, key: code}"
WAYS = ["per_row", "direct", "staged"]

# (column, CSV cell, the stored value as _shown reads it; None: not read back)
ACCEPTED_CSV = [
    ("aware", "2024-05-01 08:00:00.5+00", "2024-05-01 08:00:00.500000"),
    ("aware", "2024-05-01 10:00:00+02", "2024-05-01 08:00:00.000000"),
    ("aware", "2024-05-01T10:00:00+0200", "2024-05-01 08:00:00.000000"),
    ("aware", "2024-05-01T04:30:00-03:30", "2024-05-01 08:00:00.000000"),
    ("aware", "2024-05-01 08:00:00.123456Z", "2024-05-01 08:00:00.123456"),
    ("aware", "2024-05-01 08:00", "2024-05-01 08:00:00.000000"),
    ("naive", "2024-05-01 10:00:00+02", "2024-05-01 08:00:00.000000"),
    ("day", "2024-05-01 00:00:00", "2024-05-01"),
    ("day", "2024-05-01T00:00:00.000", "2024-05-01"),
    ("flag", " yes ", "True"),
    ("flag", "Off ", "False"),
    ("whole", "7.0", "7"),
    ("whole", " -7.00 ", "-7"),
    ("blob", "\\x00ff", "00ff"),
    ("took", "P45DT1H", None),  # asked of the database on a rerun: still unchanged
]
# (column, JSON Lines value as written, the stored value)
ACCEPTED_JSONL = [
    ("flag", "1", "True"),
    ("flag", "0", "False"),
    ("whole", "7.0", "7"),
    ("big", "-12.0", "-12"),
    ("day", '"2024-05-01 00:00:00"', "2024-05-01"),
    ("aware", '"2024-05-01 10:00:00+02"', "2024-05-01 08:00:00.000000"),
    ("blob", '"\\\\x0a"', "0a"),
]


def _shown(url: str, column: str) -> str:
    """The SQL reading `column` as the same text on both backends."""
    if column in ("aware", "naive"):
        if url.startswith("postgresql"):
            zone = " AT TIME ZONE 'UTC'" if column == "aware" else ""
            return f"to_char({column}{zone}, 'YYYY-MM-DD HH24:MI:SS.US')"
        return f"substr({column} || '.000000', 1, 26)"
    if column == "blob":
        return "encode(blob, 'hex')" if url.startswith("postgresql") else "lower(hex(blob))"
    return f"CAST({column} AS TEXT)"


def _normal(column: str, text: str) -> str:
    if column == "flag":  # CAST AS TEXT: PostgreSQL's true / false, SQLite's 1 / 0
        return str(text in ("true", "1"))
    return text


def _accepted_file(fmt: str, cases: list, count: int) -> tuple[str, str]:
    """`count` rows: row c{i} gives case i's value, the rest only a code."""
    columns = list(dict.fromkeys(c for c, _, _ in cases))
    rows = []
    for i in range(count):
        column, value = cases[i][:2] if i < len(cases) else (None, None)
        if fmt == "csv":
            cells = dict.fromkeys(columns, "")
            if column is not None:
                cells[column] = value
            rows.append(",".join([f"c{i:04}", *(_csv_cell(v) for v in cells.values())]))
        else:
            given = f', "{column}": {value}' if column is not None else ""
            rows.append(f'{{"code": "c{i:04}"{given}}}')
    if fmt == "csv":
        return "every.csv", "\n".join([HEADER, f"code,{','.join(columns)}", *rows]) + "\n"
    return "every.jsonl", "\n".join([HEADER, *rows]) + "\n"


def _csv_cell(value: str) -> str:
    return f'"{value}"' if "," in value or value != value.strip() else value


def _write(tmp_path: Path, name: str, text: str, way: str) -> None:
    base = tmp_path / "base"
    base.mkdir(parents=True, exist_ok=True)
    (base / name).write_text(text, encoding="utf-8")
    if way == "staged":
        (base / "zz.csv").write_text(f"{HEADER}\ncode\nzz\n", encoding="utf-8")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("way", WAYS)
def test_exporter_forms_are_stored_as_meant_and_a_rerun_changes_nothing(
    cli, db_url, tmp_path: Path, way, fmt
) -> None:
    """PostgreSQL's `+00` offsets, a date at midnight, booleans with spaces or as JSON 1 / 0,
    integers written 7.0: stored as meant, the same per row (3+ rows), staged and direct
    (1,001 rows), and a rerun reports every row unchanged."""
    create_tables(db_url)
    cases = ACCEPTED_CSV if fmt == "csv" else ACCEPTED_JSONL
    count = len(cases) if way == "per_row" else BULK_ROWS + 1
    _write(tmp_path, *_accepted_file(fmt, cases, count), way)
    outcome, data = run(cli, db_url, tmp_path)
    assert outcome.exit_code == 0, outcome.stderr
    total = count + (way == "staged")
    assert counts(data)["EveryType"] == (total, 0, 0)
    for i, (column, written, stored) in enumerate(cases):
        if stored is None:
            continue
        found = fetch(
            db_url, f"SELECT {_shown(db_url, column)} FROM every_types WHERE code = 'c{i:04}'"
        )
        assert [_normal(column, str(found[0][0]))] == [stored], (column, written, found)
    again, data = run(cli, db_url, tmp_path, "--recheck")
    assert again.exit_code == 0, again.stderr
    assert counts(data)["EveryType"] == (0, 0, total), data["changes"][:3]


# (format, column, the value as the file writes it, the reason the error gives)
REFUSED = [
    ("csv", "took", "P1M", r"months and years have no fixed length in a timedelta: write days"),
    ("csv", "took", "P1Y", r"months and years .*e\.g\. P30D, not 'P1Y'"),
    ("csv", "took", "-P1M1DT2H", r"months and years have no fixed length"),
    ("jsonl", "took", '"P2Y"', r"months and years have no fixed length"),
    ("yaml", "took", "P1M", r"months and years have no fixed length"),
    ("csv", "aware", "2024-05-01T08:00:00Z[UTC]", r"expected an ISO 8601 date and time such as"),
    (
        "csv",
        "aware",
        "2024-05-01 08:00:00 +0200 CEST",
        r"expected an ISO 8601 date and time such as 2024-05-01T08:00:00\+02:00, not",
    ),
    ("jsonl", "naive", '"2024-05-01 08:00:00 +0200"', r"expected an ISO 8601 date and time"),
    ("csv", "at_time", "13:30:00+02", r"a time of day with a UTC offset is not stored"),
    ("csv", "day", "2024-05-01 10:00:00", r"expected an ISO 8601 date such as .* exact midnight"),
    ("csv", "day", "2024-05-01 00:00:00+02", r"expected an ISO 8601 date such as"),
    ("csv", "nums", '"{1,2}"', r"expected a JSON list such as \[1, 2\], not '\{1,2\}'"),
    ("csv", "ratio", "1e-400", r"1e-400 is too small for a double: it would be stored as 0"),
    ("jsonl", "ratio", "1e-400", r"1e-400 is too small for a double"),
    ("csv", "real", "-2.5e-500", r"-2\.5e-500 is too small for a double"),
    ("csv", "whole", "7.5", r"expected an integer written with the digits 0-9"),
    ("jsonl", "whole", "7.5", r"expected an integer, not the number 7\.5"),
    ("csv", "blob", "\\x0g", r"expected base64 text \(or PostgreSQL's hex form \\x00ff\)"),
    ("jsonl", "flag", "2", r"expected true or false \(or 1 / 0\), not the number 2"),
    ("csv", "flag", "ja", r"expected true or false \(or 1 / 0\), not 'ja'"),
]


def _refused_file(fmt: str, column: str, value: str, count: int) -> tuple[str, str]:
    """`count` rows of EveryType, the last one giving `value` for `column` as written."""
    if fmt == "csv":
        lines = [HEADER, f"code,{column}", *(f"r{i}," for i in range(count - 1))]
        return "every.csv", "\n".join([*lines, f"bad,{value}"]) + "\n"
    if fmt == "jsonl":
        rows = [f'{{"code": "r{i}"}}' for i in range(count - 1)]
        rows.append(f'{{"code": "bad", "{column}": {value}}}')
        return "every.jsonl", "\n".join([HEADER, *rows]) + "\n"
    lines = ["model: EveryType", "key: [code]", "rows:"]
    lines += [f"  - {{code: r{i}}}" for i in range(count - 1)]
    lines.append(f"  - {{code: bad, {column}: {value}}}")
    return "every.yaml", "\n".join(lines) + "\n"


@pytest.mark.parametrize("way", WAYS)
def test_a_form_no_exporter_means_is_exit_5_saying_the_expected_form_on_every_path(
    cli, db_url, tmp_path: Path, way
) -> None:
    """Exit 5, one line naming file:line(:column), the row and field and the form expected,
    nothing written: per row, staged and direct."""
    create_tables(db_url)
    count = 3 if way == "per_row" else BULK_ROWS + 1
    for n, (fmt, column, value, reason) in enumerate(REFUSED):
        _write(tmp_path / str(n), *_refused_file(fmt, column, value, count), way)
        outcome, _ = run(cli, db_url, tmp_path / str(n))
        name = {"csv": "every.csv", "jsonl": "every.jsonl", "yaml": "every.yaml"}[fmt]
        assert_refused(outcome, db_url, "every_types", name, fmt, column, count, reason)


@pytest.mark.parametrize("way", WAYS)
def test_an_enum_column_takes_the_name_sqlalchemy_stores_unless_it_is_another_value(
    cli, db_url, tmp_path: Path, way
) -> None:
    """A PostgreSQL export of an enum column holds the member's NAME (`glad`); the seed's
    form is the value ('GLAD-1'). The name is taken where no member has it as its value:
    `happy` is the value of `content`, so it means `content`, as before."""
    create_tables(db_url)
    count = 4 if way == "per_row" else BULK_ROWS + 1
    given = ["glad", "GLAD-1", "happy", "HAPPY-1"]
    rows = [f"f{i:04},{given[i] if i < len(given) else ''}" for i in range(count)]
    base = tmp_path / "base"
    base.mkdir()
    text = "\n".join(["# {model: Feelings, key: code}", "code,feeling", *rows]) + "\n"
    (base / "feelings.csv").write_text(text, encoding="utf-8")
    if way == "staged":
        (base / "zz.csv").write_text("# {model: Feelings, key: code}\ncode\nzz\n")
    outcome, data = run(cli, db_url, tmp_path)
    assert outcome.exit_code == 0, outcome.stderr
    stored = fetch(db_url, "SELECT code, feeling FROM feelings WHERE code < 'f0004' ORDER BY code")
    assert [r[1] for r in stored] == ["glad", "glad", "content", "happy"]
    again, data = run(cli, db_url, tmp_path, "--recheck")
    assert again.exit_code == 0, again.stderr
    assert counts(data)["Feelings"] == (0, 0, count + (way == "staged"))


@pytest.mark.parametrize("count", [3, BULK_ROWS + 1])
def test_a_stored_year_is_rewritten_as_the_days_the_file_gives_on_both_paths(
    cli, db_url, backend, tmp_path: Path, count
) -> None:
    """PostgreSQL holds `1 year` (which it calls 360 days); the file says P365D, which
    asyncpg reads `1 year` back as. Per row (3 rows) and in bulk (1,001) alike the rows
    are updated to 365 days, and the next rerun changes nothing. Before, the per-row path
    called them unchanged while the bulk path rewrote them."""
    if backend != "postgresql":
        pytest.skip("SQLite has no interval with months")
    create_tables(db_url)
    fetch(
        db_url,
        "INSERT INTO every_types (code, took) "
        f"SELECT 'k' || g, interval '1 year' FROM generate_series(1, {count}) g",
    )
    rows = [f"k{i},P365D" for i in range(1, count + 1)]
    base = tmp_path / "base"
    base.mkdir()
    (base / "every.csv").write_text("\n".join([HEADER, "code,took", *rows]) + "\n")
    outcome, data = run(cli, db_url, tmp_path)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data)["EveryType"] == (0, count, 0)
    assert fetch(db_url, "SELECT CAST(took AS TEXT), count(*) FROM every_types GROUP BY 1") == [
        ("365 days", count)
    ]
    _again, data = run(cli, db_url, tmp_path, "--recheck")
    assert counts(data)["EveryType"] == (0, 0, count), data["changes"][:3]


def test_postgres_copy_text_and_json_booleans_load_from_the_real_console_script(
    manage_proc, db_url, tmp_path: Path
) -> None:
    """Through a real `manage` process (app models only there): PostgreSQL's COPY text of a
    timestamptz (`+02`) and a JSON Lines boolean `0` load; a Java `...Z[UTC]` is exit 5,
    one line saying the form expected, and the first file's row is kept."""
    base = tmp_path / "seeds" / "base"
    base.mkdir(parents=True)
    (base / "a.jsonl").write_text(
        '# {model: User, key: email}\n{"email": "a@example.com", "hashed_password": "h", '
        '"is_active": 0, "created_at": "2024-05-01 10:00:00.5+02"}\n'
    )
    args = ["seed", "run", "--seeds-dir", str(tmp_path / "seeds")]
    outcome = manage_proc(args, db=db_url)
    assert outcome.exit_code == 0, outcome.stderr
    shown = _shown(db_url, "aware").replace("aware", "created_at")
    assert fetch(db_url, f"SELECT {shown}, CAST(is_active AS TEXT) FROM users") in (
        [("2024-05-01 08:00:00.500000", "false")],
        [("2024-05-01 08:00:00.500000", "0")],
    )
    (base / "b.csv").write_text(
        "# {model: User, key: email}\nemail,hashed_password,created_at\n"
        "b@example.com,h,2024-05-01T08:00:00Z[UTC]\n"
    )
    outcome = manage_proc(args, db=db_url)
    assert outcome.exit_code == 5, outcome.stderr
    assert re.match(
        r"error: .*b\.csv:3:\d+: rows\[0\]\.created_at: expected an ISO 8601 date and time "
        r"such as 2024-05-01T08:00:00\+02:00, not '2024-05-01T08:00:00Z\[UTC\]'",
        outcome.stderr,
    ), outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1
    assert fetch(db_url, "SELECT email FROM users") == [("a@example.com",)]
