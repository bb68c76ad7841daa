"""Every path that writes a section binds each value as SQLAlchemy's own INSERT does: the
stored text of every column type is the same per row (executemany), per row with a COPY
(200+ new rows: seed_models.COPY_AT_LEAST), staged and direct (1,001 rows: seed_bulk).

Before, the COPY paths bound values through the generic type's processor: on asyncpg that is
`to_float` for Numeric and Float (12345678901234567890.123 was stored as
12345678901234567168.000, and a rerun called it unchanged) and a timedelta-to-datetime
conversion for Interval (exit 70). The tables are compared in SQL, as text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.services.seed_bulk import BULK_ROWS
from app.services.seed_models import COPY_AT_LEAST
from tests.conftest import fetch
from tests.seed_models import create_tables
from tests.test_seed_direct_parity import written_by_the_run
from tests.test_seed_tables import counts, run

# Per row i, variant i % 3 of each column ("" is NULL). Values a float would change.
VARIANTS: dict[str, list[str]] = {
    "big": ["12345678901234567890.123", "-0.001", ""],
    "fine": ["0.1234567890123456789012345678901234", "1", "-0.0000000000000000000000000000000001"],
    "free": ["123456789012345678901234567890.000000000000000000000001", "1E-30", "7"],
    "money": ["12345678901234567890.1234", "0.0001", ""],
    "ratio": ["0.1", "1.7976931348623157e308", "-2.5e-300"],
    "took": ["P1DT2H3M4.000005S", "PT0.000001S", ""],
    "mood": ["calm", "busy", ""],
    "ref": ["7d0f1c2a-0000-4000-8000-00000000002a", "", "00000000-0000-0000-0000-000000000000"],
    "day": ["2024-02-29", "0002-01-01", "9999-12-30"],
    "at_time": ["13:30:00.123456", "00:00:00", "23:59:59.999999"],
    "aware": ["2024-05-01T10:00:00.654321+02:00", "1970-01-01T00:00:00Z", ""],
    "naive": ["2024-05-01T10:00:00.654321", "2024-05-01T10:00:00-05:30", ""],
    "blob": ["AAEC/w==", "", "aGk="],
}
JSON_VARIANTS: dict[str, list[object]] = {
    "doc": [{"a": [1, "é", None], "n": 12345678901234567890}, {}, None],
    "docb": [{"x": {"y": [True, 0.5]}}, None, {"k": "v"}],
    "tags": [["a", "b c"], [], None],
}
# PostgreSQL's text of the values a float or a lost type would have changed.
EXACT = {
    "big": {"12345678901234567890.123", "-0.001", None},
    "fine": {
        "0.1234567890123456789012345678901234",
        "1.0000000000000000000000000000000000",
        "-0.0000000000000000000000000000000001",
    },
    "free": {
        "123456789012345678901234567890.000000000000000000000001",
        "0.000000000000000000000000000001",
        "7",
    },
    "money": {"12345678901234567890.1234", "0.0001", None},
    "ratio": {"0.1", "1.7976931348623157e+308", "-2.5e-300"},
    "took": {"1 day 02:03:04.000005", "00:00:00.000001", None},
}


def _rows(count: int, *, json_columns: bool) -> list[dict[str, object]]:
    rows = []
    for i in range(count):
        row: dict[str, object] = {"code": f"c{i}"}
        for column, options in VARIANTS.items():
            row[column] = options[i % 3] or None
        if json_columns:
            for column, choices in JSON_VARIANTS.items():
                row[column] = choices[i % 3]
        rows.append(row)
    return rows


def _file(fmt: str, count: int) -> tuple[str, str]:
    """(file name, text) of `count` rows: a plain CSV (the compiled record converter), or
    JSON Lines / YAML with the JSON columns too (converted row by row)."""
    rows = _rows(count, json_columns=fmt != "csv")
    if fmt == "csv":
        columns = ["code", *VARIANTS]
        lines = ["# {model: Typed, key: code}", ",".join(columns)]
        lines += [",".join(str(r[c] or "") for c in columns) for r in rows]
        return "typed.csv", "\n".join(lines) + "\n"
    if fmt == "jsonl":
        lines = ["# {model: Typed, key: code}", *(json.dumps(r) for r in rows)]
        return "typed.jsonl", "\n".join(lines) + "\n"
    lines = ["model: Typed", "key: [code]", "rows:", *(f"  - {json.dumps(r)}" for r in rows)]
    return "typed.yaml", "\n".join(lines) + "\n"


def _stored(url: str) -> set[tuple]:
    """The distinct stored values of every column but the key, each as the database's text."""
    postgres = url.startswith("postgresql")
    parts = []
    for column in [*VARIANTS, *JSON_VARIANTS]:
        if postgres and column == "aware":
            parts.append("CAST(aware AT TIME ZONE 'UTC' AS TEXT)")
        elif postgres and column in ("doc", "docb"):
            parts.append(f"CAST(CAST({column} AS jsonb) AS TEXT)")
        elif column == "blob":
            parts.append("CAST(hex(blob) AS TEXT)" if not postgres else "encode(blob, 'hex')")
        else:
            parts.append(f"CAST({column} AS TEXT)")
    return set(
        fetch(url, f"SELECT DISTINCT {', '.join(parts)} FROM typed_values WHERE code <> 'zz'")
    )


# The ways a section is written, by (rows in typed.*, a one-row zz file beside it).
WAYS = {
    "executemany": (3, False),
    "per_row_copy": (COPY_AT_LEAST + 1, False),
    "staged": (BULK_ROWS + 1, True),
    "direct": (BULK_ROWS + 1, False),
}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "yaml"])
def test_every_column_type_is_stored_exactly_alike_on_every_path(
    cli, db_url, scratch, backend, tmp_path: Path, fmt
) -> None:
    urls = {"executemany": db_url, **{w: scratch.migrated(backend) for w in list(WAYS)[1:]}}
    stored = {}
    for way, (count, beside) in WAYS.items():
        url = urls[way]
        create_tables(url)
        directory = tmp_path / way / "base"
        directory.mkdir(parents=True)
        name, text = _file(fmt, count)
        (directory / name).write_text(text, encoding="utf-8")
        if beside:  # another section of the table keeps the direct path away
            (directory / "zz.csv").write_text("# {model: Typed, key: code}\ncode\nzz\n")
        outcome, data = run(cli, url, tmp_path / way)
        assert outcome.exit_code == 0, (way, outcome.stderr)
        assert counts(data)["Typed"] == (count + beside, 0, 0), way
        stored[way] = _stored(url)
        if backend == "postgresql":
            # (a YAML section is never direct: only a CSV or JSON Lines file streams)
            direct = 0 if fmt != "yaml" else BULK_ROWS + 1
            witness = {"direct": direct, "staged": BULK_ROWS + 2}.get(way)
            if witness is not None:  # the path named really wrote the rows
                assert written_by_the_run(url, "typed_values") == witness, way
            # A rerun reads every row back and compares: nothing differs. (SQLite keeps a
            # Numeric of more than 15 digits as a REAL on every path alike: see
            # docs/seeds.md, "Values that fit their column".)
            outcome, data = run(cli, url, tmp_path / way, "--recheck")
            assert outcome.exit_code == 0, (way, outcome.stderr)
            assert counts(data)["Typed"] == (0, 0, count + beside), way
    assert len(stored["executemany"]) == 3
    for way in WAYS:
        assert stored[way] == stored["executemany"], way
    if backend == "postgresql":
        columns = [*VARIANTS, *JSON_VARIANTS]
        for column, texts in EXACT.items():
            found = {row[columns.index(column)] for row in stored["executemany"]}
            assert found == texts, column
