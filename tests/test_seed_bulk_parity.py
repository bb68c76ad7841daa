"""The bulk path (a section over BULK_ROWS rows) stores exactly what the per-row path stores.

The same rows are loaded once as a 999-row file (per-row path) and once as the same file
with two more rows (bulk path); the 999 shared rows, the counts and the audit rows must be
identical, on a first run and on a rerun that changes, nulls and leaves out columns.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.services.seed_bulk import BULK_ROWS
from tests.conftest import fetch
from tests.seed_models import create_tables
from tests.test_seed_tables import USERS, counts, run, seed_set

SMALL = BULK_ROWS - 1
RECHECK = "--recheck"


def _sample(i: int, version: int) -> dict:
    """Row i: every kind of value (and of absence) a column can get, cycling over i."""
    row: dict = {"code": f"c{i}"}
    if i >= SMALL:  # the two rows that make the file large never change
        return {**row, "price": "1.00"}
    k = i % 7
    docs = [None, {"a": 1, "b": [1, 2]}, {}, {"s": "t"}, {"f": 1.5}, {"z": None}, "MISSING"]
    tags = [None, [], ["a", "b"], ["é"], "MISSING", ["x"], None]
    if version == 1:
        if docs[k] != "MISSING":
            row["doc"] = docs[k]
        if tags[k] != "MISSING":
            row["tags"] = tags[k]
        row["price"] = [None, "1.10", 2, "0.00", None, "99999999.99", "3.5"][k]
        row["aware"] = [None, "2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00", None][i % 4]
        row["naive"] = [None, "2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00"][i % 3]
        row["mood"] = [None, "calm", "busy"][i % 3]
        row["blob"] = [None, "", "aGk="][i % 3]
        row["day"] = [None, "2024-02-29"][i % 2]
        row["at_time"] = [None, "13:30:00"][i % 2]
    else:  # a rerun: some columns left out, some nulled, some changed
        if i % 5 == 0:
            row["doc"] = None
            row["tags"] = None
            row["price"] = None
        elif i % 5 == 1:
            row["doc"] = {"b": [1, 2], "a": 1}  # the same object, keys reordered
            row["price"] = "1.1"
        elif i % 5 == 2:
            row["mood"] = "calm"
            row["blob"] = "aGk="
        elif i % 5 == 3:
            row["aware"] = "2024-05-01T08:00:00Z"
        else:  # 1 -> true is a change, though Python's True == 1
            row["doc"] = {"a": True, "b": [1, 2]}
    return row


def samples_jsonl(count: int, version: int) -> str:
    lines = ["# {model: Sample, key: code}"]
    lines += [json.dumps(_sample(i, version)) for i in range(count)]
    return "\n".join(lines) + "\n"


def _table(url: str) -> list[tuple]:
    if url.startswith("postgresql"):
        doc = "doc IS NULL, CASE WHEN doc IS NULL THEN NULL ELSE doc::jsonb::text END"
    else:
        doc = "doc IS NULL, json(doc)"
    rows = fetch(
        url,
        f"SELECT code, {doc}, tags IS NULL, CAST(tags AS TEXT), price, day, at_time, aware, "
        f"naive, blob, mood FROM samples WHERE code <> 'c{SMALL}' AND code <> 'c{SMALL + 1}' "
        "ORDER BY code",
    )
    # key order inside a JSON object is not data: compare the parsed value
    return [(r[0], r[1], json.loads(r[2]) if r[2] is not None else None, *r[3:]) for r in rows]


def _load(cli, url: str, tmp_path: Path, name: str, count: int, version: int, *extra: str):
    directory = tmp_path / name / "base"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "samples.jsonl").write_text(samples_jsonl(count, version), encoding="utf-8")
    outcome, data = run(cli, url, tmp_path / name, *extra)
    assert outcome.exit_code == 0, outcome.stderr
    return counts(data)["Sample"]


def test_the_bulk_path_stores_what_the_per_row_path_stores(
    cli, db_url, scratch, backend, tmp_path
) -> None:
    small_url, large_url = db_url, scratch.migrated(backend)
    create_tables(small_url)
    create_tables(large_url)
    for version in (1, 2, 1):
        small = _load(cli, small_url, tmp_path, f"small{version}", SMALL, version)
        large = _load(cli, large_url, tmp_path, f"large{version}", SMALL + 2, version)
        assert _table(small_url) == _table(large_url), version
        doc = [r[2] for r in _table(small_url) if r[0] == "c29"]  # 29 % 5 == 4, 29 % 7 == 1
        assert doc == [{"a": True, "b": [1, 2]} if version == 2 else {"a": 1, "b": [1, 2]}]
        nulled = ("c0", "c10") if version == 2 else ("c0", "c7")
        for url in (small_url, large_url):
            nulls = [bool(r[1]) for r in _table(url) if r[0] in nulled]
            assert nulls == [True, True], "a seed's null is SQL NULL in a JSON column"
        if version == 1 and small[0]:
            assert large == (SMALL + 2, 0, 0)
        else:
            assert (large[0], large[1]) == (small[0], small[1]), version
        # --recheck: both paths compare every row again (not answered from the last run)
        again_small = _load(cli, small_url, tmp_path, f"small{version}", SMALL, version, RECHECK)
        again_large = _load(
            cli, large_url, tmp_path, f"large{version}", SMALL + 2, version, RECHECK
        )
        assert again_small == (0, 0, SMALL), version
        assert again_large == (0, 0, SMALL + 2), version


@pytest.mark.parametrize("count", [3, BULK_ROWS + 3])
def test_a_null_in_a_nullable_key_column_matches_on_a_rerun(cli, db_url, tmp_path, count) -> None:
    """Item keyed [name, description], description empty (NULL): the bulk path compared keys
    with `=`, so a rerun inserted every row again (items has no unique key: silent
    duplicates), while the per-row path matched them (IS NULL)."""
    create_tables(db_url)
    lines = ["# {model: Item, key: [name, description]}", "name,description,owner_id.email"]
    lines += [f"item{i},,alice@example.com" for i in range(count)]
    seeds = seed_set(tmp_path, users_yaml=USERS, items_csv="\n".join(lines) + "\n")
    first, data = run(cli, db_url, seeds)
    assert first.exit_code == 0, first.stderr
    assert counts(data)["Item"] == (count, 0, 0)
    again, data = run(cli, db_url, seeds)
    assert again.exit_code == 0, again.stderr
    assert counts(data)["Item"] == (0, 0, count)
    assert fetch(db_url, "SELECT count(*) FROM items") == [(count,)]
    doubled = "\n".join([*lines, "item1,,alice@example.com"]) + "\n"
    seeds = seed_set(tmp_path, users_yaml=USERS, items_csv=doubled)
    twice, _ = run(cli, db_url, seeds)
    assert twice.exit_code == 5, twice.stderr
    line = twice.stderr.splitlines()[0]
    assert f"items.csv:{count + 3}:1: rows[{count}]: items row " in line
    assert "description=null" in line and "name='item1'" in line
    assert line.endswith("is already declared at seeds/base/items.csv:4")


@pytest.mark.parametrize("count", [5, BULK_ROWS + 5])
def test_an_email_with_capitals_is_the_stored_lower_case_user(cli, db_url, tmp_path, count) -> None:
    """A `model: User` CSV row `U3@Example.COM` was exit 4 (the users table's lower-case
    check) with no file:line on both paths; a reference `owner_id.email` with capitals was
    'no users row'. Both are the lower-case user, as in a `users:` section."""
    from app.security import hash_password

    create_tables(db_url)
    hashed = hash_password("correct-horse-battery-staple")
    lines = ["# {model: User, key: email}", "email,hashed_password"]
    lines += [f'{"U" if i == 3 else "u"}{i}@Example.COM,"{hashed}"' for i in range(count)]
    items = "# {model: Item, key: name}\nname,owner_id.email\nlamp,U3@EXAMPLE.com\n"
    seeds = seed_set(tmp_path, users_csv="\n".join(lines) + "\n", items_csv=items)
    first, data = run(cli, db_url, seeds)
    assert first.exit_code == 0, first.stderr
    assert counts(data)["User"] == (count, 0, 0)
    assert fetch(db_url, "SELECT u.email FROM items i JOIN users u ON u.id = i.owner_id") == [
        ("u3@example.com",)
    ]
    again, data = run(cli, db_url, seeds, RECHECK)
    assert again.exit_code == 0, again.stderr
    assert counts(data)["User"] == (0, 0, count)


def _users_csv(count: int, version: int) -> str:
    lines = ["# {model: User, key: email}", "email,full_name,hashed_password,is_active"]
    for i in range(count):
        if i >= SMALL:
            lines.append(f"u{i}@example.com,fixed,h-fixed,true")
            continue
        name = f"User {i}" if version == 1 or i % 3 else f"Renamed {i}"
        hashed = "h-one" if version == 1 or i % 4 else "h-two"
        active = "true" if version == 1 or i % 5 else "false"
        lines.append(f"u{i}@example.com,{name},{hashed},{active}")
    return "\n".join(lines) + "\n"


def _audit(url: str) -> list[tuple]:
    rows = fetch(
        url,
        f"SELECT action, target, details FROM audit_log WHERE action LIKE 'user.%' "
        f"AND target NOT IN ('u{SMALL}@example.com', 'u{SMALL + 1}@example.com')",
    )
    return sorted(
        (a, t, json.dumps(d if isinstance(d, dict) else json.loads(d), sort_keys=True))
        for a, t, d in rows
    )


def test_user_rows_and_audit_rows_are_the_same_on_both_paths(
    cli, db_url, scratch, backend, tmp_path
) -> None:
    """999 and 1,001 users, then a rerun renaming, re-hashing and deactivating some: the same
    users and the same user.create / user.update rows (flags, fields, password_changed, never
    the hash)."""
    small_url, large_url = db_url, scratch.migrated(backend)
    users = (
        "SELECT email, full_name, hashed_password, is_active, is_superuser FROM users "
        f"WHERE email NOT IN ('u{SMALL}@example.com', 'u{SMALL + 1}@example.com') ORDER BY email"
    )
    for version in (1, 2):
        for url, count, name in ((small_url, SMALL, "s"), (large_url, SMALL + 2, "l")):
            directory = tmp_path / f"{name}{version}" / "base"
            directory.mkdir(parents=True)
            (directory / "users.csv").write_text(_users_csv(count, version))
            outcome, _ = run(cli, url, tmp_path / f"{name}{version}")
            assert outcome.exit_code == 0, outcome.stderr
        assert fetch(small_url, users) == fetch(large_url, users)
        assert _audit(small_url) == _audit(large_url)
    assert not any("h-" in row[2] for row in _audit(large_url))
