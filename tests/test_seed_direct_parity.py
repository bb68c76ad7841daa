"""The three ways a section is written store exactly the same thing: per row (999 rows), the
staged path and, on PostgreSQL, the direct path (1,001 rows: app/services/seed_direct.py).

The same rows go to three fresh databases: a 999-row file (per-row path); the same file with
two more rows, alone in the run (direct path on PostgreSQL, staged on SQLite); and that
1,001-row file beside a one-row file of the same table, `zz.csv`, which keeps the direct
path away (staged path everywhere). The shared rows, their order (ids), the defaults, the
audit rows, the counts and the change lines must be identical; then a rerun that changes,
nulls and re-hashes some rows (the direct path gives way to the staged one: the keys exist)
must leave all three identical again. `written_by_the_run` is the witness that the direct
path really ran, so these tests cannot pass by the direct path quietly never being taken.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.services.seed_bulk import BULK_ROWS, MAX_LISTED
from tests.conftest import fetch
from tests.seed_models import create_tables
from tests.test_seed_tables import counts, run

SMALL = BULK_ROWS - 1
EXTRA = "zz"  # the key of the one-row file that sends the large section to the staged path


def written_by_the_run(url: str, table: str) -> int | None:
    """How many rows of `table` the last run's own transaction wrote (PostgreSQL; None on
    SQLite). The direct path COPYs under a savepoint, so its rows carry the savepoint's
    transaction id (xmin), not the run's, which the run's seed_history row carries: after a
    first load, 0 means every row came through the direct path."""
    if not url.startswith("postgresql"):
        return None
    ((found,),) = fetch(
        url,
        f"SELECT count(*) FROM {table} t WHERE t.xmin = "
        "(SELECT xmin FROM seed_history ORDER BY id DESC LIMIT 1)",
    )
    return found


def _load(cli, url: str, root: Path, files: dict[str, str]) -> tuple[dict, list]:
    directory = root / "base"
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    outcome, data = run(cli, url, root)
    assert outcome.exit_code == 0, outcome.stderr
    changes = [(c["op"], c["model"], c["key"], c["fields"]) for c in data["changes"]]
    return counts(data), changes


def _databases(db_url: str, scratch, backend: str, *, models: bool = False) -> dict[str, str]:
    urls = {way: scratch.migrated(backend) for way in ("direct", "staged")}
    urls = {"per_row": db_url, **urls}
    if models:
        for url in urls.values():
            create_tables(url)
    return urls


def _load_three(cli, urls, tmp_path, name: str, make, extra_row: str, version: int) -> dict:
    """make(count, version) per row (999 rows), alone (1,001: direct) and beside zz.csv
    (1,001: staged), each into its own database; (counts, change lines) per way."""
    header = make(1, version).splitlines()[:2]
    results = {}
    for way, url in urls.items():
        files = {name: make(SMALL if way == "per_row" else SMALL + 2, version)}
        if way == "staged":
            files["zz.csv"] = "\n".join([*header, extra_row]) + "\n"
        results[way] = _load(cli, url, tmp_path / f"{way}{version}", files)
    return results


def _users_csv(count: int, version: int, *, flags: bool) -> str:
    lines = ["# {model: User, key: email}"]
    lines.append("email,full_name,hashed_password" + (",is_active,is_superuser" * flags))
    for i in range(count):
        if i >= SMALL:  # the two rows that make the file large never change
            lines.append(f"u{i}@example.com,fixed,h-fixed" + (",true,false" * flags))
            continue
        email = f"U{i}@Example.COM" if i % 11 == 0 else f"u{i}@example.com"
        name = "" if i % 5 == 0 else f"User {i}"
        hashed = f"h-{i % 3}"
        active = "false" if i % 4 == 0 else "true"
        if version == 2:
            name = f"Renamed {i}" if i % 3 == 0 else name
            hashed = "h-new" if i % 7 == 0 else hashed
            active = "true" if i % 8 == 0 else active
        lines.append(f"{email},{name},{hashed}" + (f",{active},false" * flags))
    return "\n".join(lines) + "\n"


SHARED_USERS = (
    "SELECT email, full_name, hashed_password, is_active, is_superuser, "
    "security_stamp IS NOT NULL AND length(security_stamp) = 32, created_at IS NOT NULL "
    f"FROM users WHERE email NOT IN ('u{SMALL}@example.com', 'u{SMALL + 1}@example.com', "
    f"'{EXTRA}@example.com') ORDER BY id"
)


def _audit(url: str) -> list[tuple]:
    rows = fetch(
        url,
        "SELECT action, target, details FROM audit_log WHERE action LIKE 'user.%' "
        f"AND target NOT IN ('u{SMALL}@example.com', 'u{SMALL + 1}@example.com', "
        f"'{EXTRA}@example.com') ORDER BY id",
    )
    return [
        (a, t, json.dumps(d if isinstance(d, dict) else json.loads(d), sort_keys=True))
        for a, t, d in rows
    ]


def _without_extra(changes: list) -> list:
    return [c for c in changes if EXTRA not in c[2]]


@pytest.mark.parametrize("flags", [False, True], ids=["no-flags", "flags"])
def test_users_from_csv_are_the_same_per_row_staged_and_direct(
    cli, db_url, scratch, backend, tmp_path, flags
) -> None:
    """Emails with capitals, empty names (NULL), the flags given or not (the audit details
    then name them per row); then a rerun renaming, re-hashing and re-activating some."""

    def make(count: int, version: int) -> str:
        return _users_csv(count, version, flags=flags)

    extra = f"{EXTRA}@example.com,extra,h-x" + (",true,false" * flags)
    urls = _databases(db_url, scratch, backend)
    for version in (1, 2):
        results = _load_three(cli, urls, tmp_path, "users.csv", make, extra, version)
        tables = {way: fetch(url, SHARED_USERS) for way, url in urls.items()}
        assert tables["direct"] == tables["per_row"] == tables["staged"], version
        assert [r[0] for r in tables["direct"][:12:11]] == ["u0@example.com", "u11@example.com"]
        audits = {way: _audit(url) for way, url in urls.items()}
        assert audits["direct"] == audits["per_row"] == audits["staged"], version
        assert not any("h-" in row[2] for row in audits["direct"])  # never the hash
        direct, direct_changes = results["direct"]
        staged, staged_changes = results["staged"]
        per_row, per_row_changes = results["per_row"]
        if version == 1:
            assert direct["User"] == (SMALL + 2, 0, 0)
            assert staged["User"] == (SMALL + 3, 0, 0)
            assert per_row["User"] == (SMALL, 0, 0)
            assert direct_changes == _without_extra(staged_changes)
            assert len(direct_changes) == MAX_LISTED
            assert direct_changes[:SMALL] == per_row_changes
            assert direct_changes[0] == ("create", "User", "email=u0@example.com", [])
            if backend == "postgresql":  # the witness: which path wrote the rows
                assert written_by_the_run(urls["direct"], "users") == 0
                assert written_by_the_run(urls["direct"], "audit_log") == 1  # seed.run only
                assert written_by_the_run(urls["staged"], "users") == SMALL + 3
        else:
            created, updated, unchanged = per_row["User"]
            assert created == 0 and updated > 0
            assert direct["User"] == (0, updated, unchanged + 2)
            assert staged["User"] == (0, updated, unchanged + 3)
            assert sorted(direct_changes) == sorted(_without_extra(staged_changes))
            assert sorted(direct_changes) == sorted(per_row_changes)
            if backend == "postgresql":  # the keys exist: the direct path gave way
                assert written_by_the_run(urls["direct"], "users") == updated


def _samples_csv(count: int, version: int, *, json_cells: bool) -> str:
    """Sample rows as CSV cells: every column in every row, an empty cell NULL."""
    columns = ["code", "ref", "price", "day", "at_time", "aware", "naive", "blob", "mood"]
    columns += ["doc", "tags"] * json_cells
    lines = ["# {model: Sample, key: code}", ",".join(columns)]
    for i in range(count):
        cells = dict.fromkeys(columns, "")
        cells["code"] = f"c{i}"
        if i >= SMALL:
            cells["price"] = "1.00"
        elif version == 1 or i % 3:
            cells["ref"] = ["", f"00000000-0000-4000-8000-{i:012d}"][i % 2]
            cells["price"] = ["", "1.10", "2", "0.00", "99999999.99", "3.5"][i % 6]
            cells["day"] = ["", "2024-02-29"][i % 2]
            cells["at_time"] = ["", "13:30:00"][i % 2]
            cells["aware"] = ["", "2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00"][i % 3]
            cells["naive"] = ["", "2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00"][i % 3]
            cells["blob"] = ["", "aGk="][i % 2]
            cells["mood"] = ["", "calm", "busy"][i % 3]
            if json_cells:
                cells["doc"] = ["", '"{""a"": 1, ""b"": [1, 2]}"', "{}", '"{""z"": null}"'][i % 4]
                cells["tags"] = ["", "[]", '"[""a"", ""é""]"'][i % 3]
        else:  # a rerun: a third of the rows changed or nulled
            cells["price"] = "7.77"
            cells["mood"] = "busy"
            if json_cells:
                cells["doc"] = '"{""b"": [1, 2], ""a"": true}"'
        lines.append(",".join(cells[c] for c in columns))
    return "\n".join(lines) + "\n"


def _samples(url: str) -> list[tuple]:
    if url.startswith("postgresql"):
        doc = "doc IS NULL, CASE WHEN doc IS NULL THEN NULL ELSE doc::jsonb::text END"
    else:
        doc = "doc IS NULL, json(doc)"
    rows = fetch(
        url,
        f"SELECT code, {doc}, tags IS NULL, CAST(tags AS TEXT), ref, price, day, at_time, "
        f"aware, naive, blob, mood FROM samples WHERE code NOT IN ('c{SMALL}', 'c{SMALL + 1}', "
        f"'{EXTRA}') ORDER BY code",
    )
    return [(r[0], r[1], json.loads(r[2]) if r[2] is not None else None, *r[3:]) for r in rows]


@pytest.mark.parametrize("json_cells", [False, True], ids=["plain", "json-cells"])
def test_every_column_type_from_csv_is_the_same_per_row_staged_and_direct(
    cli, db_url, scratch, backend, tmp_path, json_cells
) -> None:
    """A plain CSV (converted by seed_records' compiled converter) and one with JSON cells
    (converted row by row): UUIDs, decimals, dates, times, both kinds of timestamps, bytes,
    an enum, JSON and arrays, and NULLs in all of them; then a rerun changing a third."""

    def make(count: int, version: int) -> str:
        return _samples_csv(count, version, json_cells=json_cells)

    extra = EXTRA + "," * (10 if json_cells else 8)
    urls = _databases(db_url, scratch, backend, models=True)
    for version in (1, 2):
        results = _load_three(cli, urls, tmp_path, "samples.csv", make, extra, version)
        tables = {way: _samples(url) for way, url in urls.items()}
        assert tables["direct"] == tables["per_row"] == tables["staged"], version
        direct, staged, per_row = (results[w][0]["Sample"] for w in ("direct", "staged", "per_row"))
        if version == 1:
            assert (direct, staged, per_row) == (
                (SMALL + 2, 0, 0),
                (SMALL + 3, 0, 0),
                (SMALL, 0, 0),
            )
            if backend == "postgresql":
                assert written_by_the_run(urls["direct"], "samples") == 0
                assert written_by_the_run(urls["staged"], "samples") == SMALL + 3
        else:
            assert direct[1] == staged[1] == per_row[1] > 0
            assert (direct[2], staged[2]) == (per_row[2] + 2, per_row[2] + 3)
