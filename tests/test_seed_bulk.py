"""Large streamed sections (CSV, JSON Lines, YAML over 4 MiB) take the staged, set-based path
(app/services/seed_bulk.py): counts, audit rows, duplicate keys and bad rows as on the
per-row path, on both backends. BULK_ROWS is 1,000: these files hold more.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from app.services.seed_bulk import BULK_ROWS
from app.services.seed_files import YAML_STREAM_BYTES
from tests.conftest import fetch
from tests.seed_models import create_tables
from tests.test_seed_tables import PASSWORD, USERS, counts, run, samples_csv, seed_set

ROWS = BULK_ROWS + 200


@pytest.fixture
def models_db(db_url: str) -> str:
    create_tables(db_url)
    return db_url


def samples_jsonl(count: int, *, price_of: dict[int, str] | None = None) -> str:
    lines = ["# {model: Sample, key: code}"]
    for i in range(count):
        row = {
            "code": f"c{i}",
            "price": (price_of or {}).get(i, f"{i}.25"),
            "aware": f"2024-05-01T10:00:{i % 60:02d}+02:00",
            "mood": "calm" if i % 2 else "busy",
            "doc": {"n": i, "nested": {"b": [1, 2]}},
            "tags": [f"t{i}"],
        }
        lines.append(json.dumps(row))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("name", "make"), [("samples_csv", samples_csv), ("samples_jsonl", samples_jsonl)]
)
def test_a_large_table_file_counts_created_updated_unchanged_on_rerun(
    cli, models_db, tmp_path, name, make
) -> None:
    """Every column type compares equal to what it wrote (a rerun changes nothing); a rerun
    with two rows changed updates exactly those two."""
    seeds = seed_set(tmp_path, **{name: make(ROWS)})
    outcome, data = run(cli, models_db, seeds)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data)["Sample"] == (ROWS, 0, 0)
    assert fetch(models_db, "SELECT count(*) FROM samples") == [(ROWS,)]
    again, data = run(cli, models_db, seeds, "--recheck")  # compare every row
    assert again.exit_code == 0, again.stderr
    assert counts(data)["Sample"] == (0, 0, ROWS)
    seeds = seed_set(tmp_path, **{name: make(ROWS, price_of={3: "9.99", 1100: "1.00"})})
    changed, data = run(cli, models_db, seeds)
    assert changed.exit_code == 0, changed.stderr
    assert counts(data)["Sample"] == (0, 2, ROWS - 2)
    assert sorted((c["key"], c["fields"]) for c in data["changes"]) == [
        ("code=c1100", ["price"]),
        ("code=c3", ["price"]),
    ]
    ((price,),) = fetch(models_db, "SELECT price FROM samples WHERE code = 'c3'")
    assert Decimal(str(price)).quantize(Decimal("0.01")) == Decimal("9.99")


BAD = [
    # a value that does not fit its column, deep in the file: line and character column
    ("samples_csv", lambda: samples_csv(ROWS, price_of={1150: "lots"}), "samples.csv:1153:"),
    ("samples_jsonl", lambda: samples_jsonl(ROWS, price_of={1150: "lots"}), "samples.jsonl:1152:"),
    # the same key twice in one large file: both lines named
    (
        "samples_csv",
        lambda: samples_csv(ROWS) + samples_csv(1).splitlines()[2] + "\n",
        f"samples.csv:{ROWS + 3}:1: rows[{ROWS}]: samples row code='c0' is already declared at "
        "seeds/base/samples.csv:3",
    ),
]


@pytest.mark.parametrize(("name", "make", "expected"), BAD)
def test_a_bad_row_in_a_large_file_is_exit_5_naming_it_and_writes_nothing(
    cli, models_db, tmp_path, name, make, expected
) -> None:
    seeds = seed_set(tmp_path, **{"users_yaml": USERS, name: make()})
    outcome, _ = run(cli, models_db, seeds)
    assert outcome.exit_code == 5, outcome.stderr
    assert expected in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1
    assert fetch(models_db, "SELECT count(*) FROM samples") == [(0,)]
    assert fetch(models_db, "SELECT count(*) FROM users") == [(0,)]


def users_csv(
    count: int, hashed: str, *, header: bool = True, renamed: set[int] = frozenset()
) -> str:
    lines = ["# {model: User, key: email}"] * header + ["email,full_name,hashed_password"]
    lines += [
        f'u{i}@example.com,User {i}{" (new name)" if i in renamed else ""},"{hashed}"'
        for i in range(count)
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def hashed() -> str:
    from app.security import hash_password

    return hash_password(PASSWORD)


def test_large_user_files_write_the_same_audit_rows_as_the_per_row_path(
    cli, db_url, tmp_path, hashed
) -> None:
    """A sidecar names the model; one user.create per row, then one user.update per row
    changed (fields named, never the password)."""
    seeds = seed_set(tmp_path, users_csv=users_csv(ROWS, hashed, header=False))
    (seeds / "base" / "users.csv.yaml").write_text("{model: User, key: email}\n")
    outcome, data = run(cli, db_url, seeds)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data)["User"] == (ROWS, 0, 0)
    assert [f["file"] for f in data["files"]] == ["base/users.csv"]  # not the sidecar
    assert fetch(db_url, "SELECT count(*) FROM audit_log WHERE action = 'user.create'") == [(ROWS,)]
    (seeds / "base" / "users.csv").write_text(
        users_csv(ROWS, hashed, header=False, renamed={7, 1111})
    )
    again, data = run(cli, db_url, seeds)
    assert again.exit_code == 0, again.stderr
    assert counts(data)["User"] == (0, 2, ROWS - 2)
    rows = fetch(
        db_url,
        "SELECT target, details FROM audit_log WHERE action = 'user.update' ORDER BY target",
    )
    details = [(t, d if isinstance(d, dict) else json.loads(d)) for t, d in rows]
    assert details == [
        ("u1111@example.com", {"fields": ["full_name"], "via": "seed"}),
        ("u7@example.com", {"fields": ["full_name"], "via": "seed"}),
    ]
    assert fetch(db_url, "SELECT full_name FROM users WHERE email = 'u7@example.com'") == [
        ("User 7 (new name)",)
    ]
    assert hashed not in again.stdout


def test_a_key_in_a_large_file_and_in_a_users_section_is_declared_twice(
    cli, db_url, tmp_path, hashed
) -> None:
    text = users_csv(ROWS, hashed).replace("u5@example.com", "alice@example.com")
    seeds = seed_set(tmp_path, users_yaml=USERS, users_csv=text)
    outcome, _ = run(cli, db_url, seeds)
    assert outcome.exit_code == 5, outcome.stderr
    assert "users.csv:8:1: rows[5]: users row email='alice@example.com' is already declared" in (
        outcome.stderr
    )
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]


def test_a_file_with_a_header_line_and_a_sidecar_is_refused(cli, db_url, tmp_path, hashed) -> None:
    seeds = seed_set(tmp_path, users_csv=users_csv(3, hashed))
    (seeds / "base" / "users.csv.yaml").write_text("{model: User, key: email}\n")
    outcome, _ = run(cli, db_url, seeds)
    assert outcome.exit_code == 5, outcome.stderr
    assert "users.csv:1:1: the model is named by seeds/base/users.csv.yaml" in outcome.stderr


def test_a_yaml_file_over_the_stream_size_is_read_as_a_stream(
    cli, db_url, tmp_path, hashed
) -> None:
    """Past YAML_STREAM_BYTES a file is applied row by row as it is parsed: a bad row near
    the end is exit 5 naming file:line and nothing is written; fixed, every row lands."""
    row = "  - {{email: u{i}@example.com, full_name: 'User {i}', hashed_password: '{h}'}}\n"
    count = YAML_STREAM_BYTES // len(row.format(i=0, h=hashed)) + 500
    body = "".join(row.format(i=i, h=hashed) for i in range(count))
    bad = body + "  - email: last@example.com\n    hashed_password: x\n    is_active: maybe\n"
    seeds = seed_set(tmp_path, users_yaml="model: User\nkey: email\nrows:\n" + bad)
    assert (seeds / "base" / "users.yaml").stat().st_size > YAML_STREAM_BYTES
    outcome, _ = run(cli, db_url, seeds)
    assert outcome.exit_code == 5, outcome.stderr
    assert f"users.yaml:{count + 6}: models[0].rows[{count}].is_active:" in outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]
    good = bad.replace("maybe", "false")
    seeds = seed_set(tmp_path, users_yaml="model: User\nkey: email\nrows:\n" + good)
    outcome, data = run(cli, db_url, seeds)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data)["User"] == (count + 1, 0, 0)
    assert fetch(db_url, "SELECT is_active FROM users WHERE email = 'last@example.com'") in (
        [(False,)],
        [(0,)],
    )


def test_a_key_in_a_small_file_and_in_a_large_file_of_the_run_is_declared_twice(
    cli, models_db, tmp_path
) -> None:
    """big.csv is staged first (name order); small.csv's c5 is already there."""
    small = samples_csv(1).replace("c0,", "c5,")
    seeds = seed_set(tmp_path, big_csv=samples_csv(ROWS), small_csv=small)
    outcome, _ = run(cli, models_db, seeds)
    assert outcome.exit_code == 5, outcome.stderr
    assert "small.csv:3:1: rows[0]: samples row code='c5' is already declared" in outcome.stderr
    assert fetch(models_db, "SELECT count(*) FROM samples") == [(0,)]
