"""CSV and JSON Lines seed files: one model per file, named in the first line.

A bad row names file:line:column and nothing is written, as for YAML.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import fetch
from tests.seed_models import create_tables

PASSWORD = "correct-horse-battery-staple"
ENV = {"DEV_PASSWORD": PASSWORD}
USERS = """
users:
  - {email: alice@example.com, password_env: DEV_PASSWORD}
  - {email: bob@example.com, password_env: DEV_PASSWORD}
"""
ITEMS_CSV = """\
# {model: Item, key: name}
name,description,owner_id.email
lamp,"A desk lamp, brass",alice@example.com
chair,,bob@example.com
"""
ITEMS_JSONL = """\
# {model: items, key: [name]}
{"name": "lamp", "description": "A desk lamp, brass", "owner_id": {"email": "alice@example.com"}}

{"name": "chair", "owner_id": {"email": "bob@example.com"}}
"""


@pytest.fixture
def models_db(db_url: str) -> str:
    create_tables(db_url)
    return db_url


def seed_set(tmp_path: Path, **files: str) -> Path:
    directory = tmp_path / "seeds" / "base"
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name.replace("_", ".", 1)).write_text(text, encoding="utf-8")
    return tmp_path / "seeds"


def run(cli, db_url: str, seeds: Path, *extra: str):
    """`seed run` of `seeds`; pass "--recheck" where the test is about how rows compare (a
    rerun of unchanged files and tables is otherwise answered without reading them)."""
    outcome = cli(["seed", "run", "--seeds-dir", str(seeds), "--json", *extra], db=db_url, env=ENV)
    data = json.loads(outcome.stdout)["data"] if outcome.stdout else None
    return outcome, data


def counts(data: dict) -> dict[str, tuple[int, int, int]]:
    return {m["model"]: (m["created"], m["updated"], m["unchanged"]) for m in data["models"]}


@pytest.mark.parametrize(("name", "text"), [("items_csv", ITEMS_CSV), ("items_jsonl", ITEMS_JSONL)])
def test_a_table_file_loads_with_foreign_keys_by_natural_key_and_a_rerun_changes_nothing(
    cli, models_db, tmp_path, name, text
) -> None:
    seeds = seed_set(tmp_path, **{"users_yaml": USERS, name: text})
    outcome, data = run(cli, models_db, seeds)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data)["Item"] == (2, 0, 0)
    assert fetch(
        models_db,
        "SELECT i.name, i.description, u.email FROM items i JOIN users u ON u.id = i.owner_id "
        "ORDER BY i.name",
    ) == [("chair", None, "bob@example.com"), ("lamp", "A desk lamp, brass", "alice@example.com")]
    again, data = run(cli, models_db, seeds)
    assert again.exit_code == 0, again.stderr
    assert counts(data)["Item"] == (0, 0, 2)


SAMPLES_CSV = """\
# {model: Sample, key: code}
code,price,day,aware,mood,doc,tags,blob
a,12.50,2024-05-01,2024-05-01T10:00:00+02:00,calm,"{""k"": [1, 2]}","[""x"", ""y""]",aGk=
b,,,,,,,
"""


def test_csv_cells_are_read_by_column_type_and_round_trip(cli, models_db, tmp_path) -> None:
    seeds = seed_set(tmp_path, samples_csv=SAMPLES_CSV)
    outcome, data = run(cli, models_db, seeds)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data)["Sample"] == (2, 0, 0)
    assert fetch(models_db, "SELECT price, day, mood FROM samples WHERE code = 'a'")[0][0] == (
        Decimal("12.50")
    )
    again, data = run(cli, models_db, seeds, "--recheck")
    assert counts(data)["Sample"] == (0, 0, 2), again.stderr


BAD_FILES = [
    # a value too long for its column: the field's own line and character column
    (
        "items_csv",
        ITEMS_CSV + "x" * 101 + ",,bob@example.com\n",
        "items.csv:5:1: rows[2].name:",
    ),
    # a foreign key naming no row
    (
        "items_csv",
        ITEMS_CSV.replace("bob@example.com", "ghost@example.com"),
        "items.csv:4:8: rows[1].owner_id: no users row with email='ghost@example.com'",
    ),
    ("items_csv", ITEMS_CSV + "stool,one,two,three\n", "items.csv:5:1: rows[2]: 4 fields"),
    ("items_csv", ITEMS_CSV.replace("owner_id.email", "colour"), "items.csv:2:18:"),
    ("items_csv", ITEMS_CSV.replace("# {model: Item, key: name}\n", ""), "items.csv:1:1:"),
    (
        "items_jsonl",
        ITEMS_JSONL + '{"name": "stool", "owner_id": {"email": "bob@example.com"}, \n',
        "items.jsonl:5:",
    ),
    (
        "items_jsonl",
        ITEMS_JSONL
        + '{"name": "stool", "description": 7, "owner_id": {"email": "bob@example.com"}}\n',
        "items.jsonl:5:19: rows[2].description:",
    ),
    (
        "items_jsonl",
        ITEMS_JSONL + '{"name": "a", "name": "b"}\n',
        "items.jsonl:5:1: rows[2]: duplicate key 'name'",
    ),
    ("items_jsonl", ITEMS_JSONL.replace("{model: items", "{model: nope"), "items.jsonl:1:1:"),
    (
        "items_jsonl",
        ITEMS_JSONL + '{"name": "deep", "x": ' + "[" * 70 + "]" * 70 + "}\n",
        "items.jsonl:5:1: rows[2]: nested deeper than 64 levels",
    ),
    (
        "items_jsonl",
        ITEMS_JSONL + '{"name": "deeper", "x": ' + "[" * 5000 + "]" * 5000 + "}\n",
        "items.jsonl:5:1: rows[2]: nested deeper than 64 levels",
    ),
]


@pytest.mark.parametrize(("name", "text", "expected"), BAD_FILES)
def test_a_bad_row_is_exit_5_naming_file_line_column_and_writes_nothing(
    cli, models_db, tmp_path, name, text, expected
) -> None:
    seeds = seed_set(tmp_path, **{"users_yaml": USERS, name: text})
    outcome, _ = run(cli, models_db, seeds)
    assert outcome.exit_code == 5, outcome.stderr
    assert expected in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1
    assert fetch(models_db, "SELECT count(*) FROM items") == [(0,)]
    assert fetch(models_db, "SELECT count(*) FROM users") == [(0,)]


def samples_csv(count: int, *, price_of: dict[int, str] | None = None) -> str:
    lines = ["# {model: Sample, key: code}", "code,price,aware,naive,mood,doc,tags,blob,ref"]
    for i in range(count):
        price = (price_of or {}).get(i, f"{i}.25")
        lines.append(
            f"c{i},{price},2024-05-01T10:00:{i % 60:02d}+02:00,2024-05-01T10:00:00,"
            f'{"calm" if i % 2 else "busy"},"{{""n"": {i}}}","[""t{i}""]",aGk=,'
            f"00000000-0000-4000-8000-{i:012d}"
        )
    return "\n".join(lines) + "\n"


def test_a_large_section_takes_the_bulk_path_and_counts_created_updated_unchanged(
    cli, models_db, tmp_path
) -> None:
    """300 new rows are COPYed on PostgreSQL (executemany on SQLite); every type survives."""
    seeds = seed_set(tmp_path, samples_csv=samples_csv(300))
    outcome, data = run(cli, models_db, seeds)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data)["Sample"] == (300, 0, 0)
    assert fetch(models_db, "SELECT count(*), count(DISTINCT mood) FROM samples") == [(300, 2)]
    seeds = seed_set(tmp_path, samples_csv=samples_csv(300, price_of={3: "9.99", 7: "1.00"}))
    again, data = run(cli, models_db, seeds)
    assert again.exit_code == 0, again.stderr
    assert counts(data)["Sample"] == (0, 2, 298)
    prices = fetch(
        models_db, "SELECT code, price FROM samples WHERE code IN ('c3', 'c7', 'c8') ORDER BY code"
    )
    cents = Decimal("0.01")  # SQLite hands Numeric back as a float
    assert [(c, Decimal(str(p)).quantize(cents)) for c, p in prices] == [
        ("c3", Decimal("9.99")),
        ("c7", Decimal("1.00")),
        ("c8", Decimal("8.25")),
    ]
    third, data = run(cli, models_db, seeds, "--recheck")
    assert counts(data)["Sample"] == (0, 0, 300), third.stderr


def test_250_users_from_csv_get_one_audit_row_each_written_in_bulk(cli, db_url, tmp_path) -> None:
    """Past 200 rows PostgreSQL COPYs the users and their audit rows (JSON details intact)."""
    from app.security import hash_password

    hashed = hash_password(PASSWORD)
    lines = ["# {model: User, key: email}", "email,full_name,hashed_password"]
    lines += [f'u{i}@example.com,User {i},"{hashed}"' for i in range(250)]
    seeds = seed_set(tmp_path, users_csv="\n".join(lines) + "\n")
    outcome, data = run(cli, db_url, seeds)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data)["User"] == (250, 0, 0)
    audit = fetch(
        db_url,
        "SELECT target, details FROM audit_log WHERE action = 'user.create' ORDER BY target",
    )
    assert len(audit) == 250
    details = audit[0][1] if isinstance(audit[0][1], dict) else json.loads(audit[0][1])
    assert details["via"] == "seed" and details["password_changed"] is True
    assert hashed not in str(audit)


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("items.jsonl", '# {model: Item, key: name}\n{"name": "' + "a" * 1_100_000 + '"}\n', 2),
        ("items.csv", "# {model: Item, key: name}\nname\n" + "x," * 600_000 + "\n", 3),
        ("items.csv", "a" * 1_100_000, 1),  # no line break at all: not even a header line
    ],
    ids=["jsonl row", "csv row", "no line breaks"],
)
def test_a_line_longer_than_1_mib_is_exit_5_naming_it_not_read_whole(
    cli, models_db, tmp_path, name, text, line
) -> None:
    """Rows are streamed, but each line is read whole before it is parsed: a file without
    line breaks must be refused at 1 MiB, not loaded into memory."""
    directory = tmp_path / "seeds" / "base"
    directory.mkdir(parents=True)
    (directory / name).write_text(text, encoding="utf-8")
    outcome, _ = run(cli, models_db, tmp_path / "seeds")
    assert outcome.exit_code == 5
    assert outcome.stderr.splitlines() == [
        f"error: seeds/base/{name}:{line}: line longer than 1,048,576 characters"
    ]
    assert fetch(models_db, "SELECT count(*) FROM items") == [(0,)]
