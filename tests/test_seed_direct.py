"""When the direct path (app/services/seed_direct.py) must not write, or must give way.

A large section that is the only one of its table is COPYed straight into the table on
PostgreSQL; every case below would write something different from the staged path if the
direct path did not give way, and each test fails without its guard. `written_by_the_run`
(tests/test_seed_direct_parity.py) tells which path wrote the rows. SQLite has no direct
path: the same tests run there and show it unchanged.
"""

from __future__ import annotations

import json
import signal

import pytest

from app.services.seed_bulk import BULK_ROWS
from tests.conftest import fetch
from tests.seed_models import create_tables
from tests.test_seed_direct_parity import written_by_the_run
from tests.test_seed_tables import PASSWORD, USERS, counts, run, seed_set

ROWS = BULK_ROWS + 200
LATE = 12_000  # three chunks of 5,000 (STAGE_CHUNK): two are in the table when row 11,995 fails


def users_csv(count: int, *, start: int = 0, header: bool = True, name: str = "User") -> str:
    lines = ["# {model: User, key: email}"] * header + ["email,full_name,hashed_password"]
    lines += [f"u{i}@example.com,{name} {i},h-{i}" for i in range(start, start + count)]
    return "\n".join(lines) + "\n"


def test_keys_already_in_the_table_take_the_staged_path(cli, db_url, tmp_path) -> None:
    seeds = seed_set(tmp_path, users_csv=users_csv(ROWS))
    first, data = run(cli, db_url, seeds)
    assert first.exit_code == 0, first.stderr
    assert counts(data)["User"] == (ROWS, 0, 0)
    assert written_by_the_run(db_url, "users") in (0, None)  # direct on PostgreSQL
    text = users_csv(ROWS + 5).replace("User 7,", "Renamed 7,").replace("User 9,", "Renamed 9,")
    seeds = seed_set(tmp_path, users_csv=text)
    again, data = run(cli, db_url, seeds)
    assert again.exit_code == 0, again.stderr
    assert counts(data)["User"] == (5, 2, ROWS - 2)
    assert written_by_the_run(db_url, "users") in (7, None)  # the staged path's UPDATE/INSERT
    assert fetch(db_url, "SELECT count(*), count(DISTINCT email) FROM users") == [
        (ROWS + 5, ROWS + 5)
    ]
    assert fetch(db_url, "SELECT full_name FROM users WHERE email = 'u7@example.com'") == [
        ("Renamed 7",)
    ]
    updates = fetch(db_url, "SELECT count(*) FROM audit_log WHERE action = 'user.update'")
    assert updates == [(2,)]


@pytest.mark.parametrize("again", ["u5@example.com", "U5@Example.COM"])
def test_a_key_twice_in_a_large_file_is_exit_5_naming_both_lines(
    cli, db_url, tmp_path, again
) -> None:
    """The second one is a unique violation of the direct COPY; the staged path then says
    which lines, as it always has (an email with other capitals is the same user)."""
    text = users_csv(ROWS) + f"{again},Again,h-again\n"
    outcome, _ = run(cli, db_url, seed_set(tmp_path, users_csv=text))
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.splitlines() == [
        f"error: seeds/base/users.csv:{ROWS + 3}:1: rows[{ROWS}]: users row "
        "email='u5@example.com' is already declared at seeds/base/users.csv:8"
    ]
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]
    assert fetch(db_url, "SELECT count(*) FROM audit_log") == [(0,)]


def badges_csv(count: int, *, bad: str = "", extra: str = "") -> str:
    """Badges keyed by code; `bad` breaks row count - 5: a foreign key to no user, a
    negative points (check constraint), a label another row has (unique, not the key),
    an empty (NULL) code."""
    lines = ["# {model: Badge, key: code}", "code,label,points,owner_id"]
    for i in range(count):
        code, label, points, owner = f"b{i}", f"label {i}", str(i % 7), ""
        if i == count - 5:
            owner = "987654" if bad == "fk" else owner
            points = "-1" if bad == "check" else points
            label = "label 3" if bad == "label" else label
            code = "" if bad == "null" else code
        lines.append(f"{code},{label},{points},{owner}")
    return "\n".join([*lines, *([extra] if extra else [])]) + "\n"


@pytest.mark.parametrize(
    ("bad", "constraint"),
    [
        ("fk", "badges_owner_id_fkey"),
        ("check", "badges_points_check"),
        ("label", "badges_label_key"),
    ],
)
def test_a_violation_late_in_a_large_file_writes_nothing_and_says_what_the_staged_path_says(
    cli, pg_db_url, scratch, tmp_path, bad, constraint
) -> None:
    """Row 11,995 breaks a foreign key, a check or a unique column that is not the key,
    after 10,000 rows are already COPYed: the savepoint is rolled back and the staged path
    reports it, exactly as when a second file of the table keeps the direct path away."""
    staged_url = scratch.migrated("postgresql")
    create_tables(pg_db_url)
    create_tables(staged_url)
    direct, _ = run(
        cli, pg_db_url, seed_set(tmp_path / "direct", badges_csv=badges_csv(LATE, bad=bad))
    )
    other = "# {model: Badge, key: code}\ncode,label\nzz,zz\n"
    seeds = seed_set(tmp_path / "staged", badges_csv=badges_csv(LATE, bad=bad), zz_csv=other)
    staged, _ = run(cli, staged_url, seeds)
    assert (direct.exit_code, direct.stderr) == (staged.exit_code, staged.stderr)
    assert direct.exit_code == 4
    assert direct.stderr == f"error: conflicts with existing data (constraint {constraint})\n"
    assert fetch(pg_db_url, "SELECT count(*) FROM badges") == [(0,)]


def test_a_null_in_a_nullable_unique_key_takes_the_staged_path(cli, db_url, tmp_path) -> None:
    """A unique index lets any number of NULLs in; the staged path matches a NULL key with a
    NULL, so two rows with an empty code are one key given twice."""
    create_tables(db_url)
    text = badges_csv(ROWS, bad="null", extra=",another label,1,")
    outcome, _ = run(cli, db_url, seed_set(tmp_path, badges_csv=text))
    assert outcome.exit_code == 5, outcome.stderr
    assert (
        f"badges.csv:{ROWS + 3}:1: rows[{ROWS}]: badges row code=null is already declared at "
        f"seeds/base/badges.csv:{ROWS - 5 + 3}"
    ) in outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM badges") == [(0,)]
    seeds = seed_set(tmp_path, badges_csv=badges_csv(ROWS, bad="null"))
    first, data = run(cli, db_url, seeds)
    assert first.exit_code == 0, first.stderr
    assert counts(data)["Badge"] == (ROWS, 0, 0)
    assert written_by_the_run(db_url, "badges") in (ROWS, None)
    again, data = run(cli, db_url, seeds)
    assert counts(data)["Badge"] == (0, 0, ROWS), again.stderr


def test_two_large_sections_of_one_table_take_the_staged_path(cli, db_url, tmp_path) -> None:
    """A key of the first file given again in the second is the staged path's error: had
    the first gone straight into the table, the second would have updated that row."""
    second = users_csv(ROWS, start=ROWS)
    seeds = seed_set(tmp_path, users_csv=users_csv(ROWS), more_csv=second)
    first, data = run(cli, db_url, seeds)
    assert first.exit_code == 0, first.stderr
    assert counts(data)["User"] == (2 * ROWS, 0, 0)
    assert written_by_the_run(db_url, "users") in (2 * ROWS, None)
    doubled = users_csv(ROWS, start=ROWS, name="Other") + "u3@example.com,Again,h-x\n"
    seeds = seed_set(tmp_path / "doubled", users_csv=users_csv(ROWS), more_csv=doubled)
    outcome, _ = run(cli, db_url, seeds)
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.endswith("users row is already declared in another file of this run\n")


def test_a_large_csv_beside_a_small_yaml_section_of_its_table_takes_the_staged_path(
    cli, db_url, tmp_path
) -> None:
    seeds = seed_set(tmp_path, users_yaml=USERS, users_csv=users_csv(ROWS))
    outcome, data = run(cli, db_url, seeds)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data)["User"] == (ROWS + 2, 0, 0)
    if db_url.startswith("postgresql"):
        # the users: section writes row by row, the CSV by the staged path: all in the run's
        # own transaction
        assert written_by_the_run(db_url, "users") == ROWS + 2


def test_rows_giving_different_columns_take_the_staged_path(cli, db_url, tmp_path) -> None:
    """JSON Lines rows may leave a column out: the audit rows name the fields each gave."""
    lines = ["# {model: User, key: email}"]
    for i in range(ROWS):
        row = {"email": f"u{i}@example.com", "hashed_password": f"h-{i}"}
        if i % 2:
            row["full_name"] = f"User {i}"
        lines.append(json.dumps(row))
    seeds = seed_set(tmp_path, users_jsonl="\n".join(lines) + "\n")
    outcome, data = run(cli, db_url, seeds)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data)["User"] == (ROWS, 0, 0)
    assert written_by_the_run(db_url, "users") in (ROWS, None)
    details = fetch(
        db_url,
        "SELECT target, details FROM audit_log WHERE target IN ('u0@example.com', "
        "'u1@example.com') ORDER BY target",
    )
    fields = [(t, (d if isinstance(d, dict) else json.loads(d))["fields"]) for t, d in details]
    assert fields == [("u0@example.com", ["email"]), ("u1@example.com", ["email", "full_name"])]


def test_a_dry_run_of_a_direct_load_reports_it_and_writes_nothing(cli, db_url, tmp_path) -> None:
    seeds = seed_set(tmp_path, users_csv=users_csv(ROWS))
    outcome = cli(
        ["seed", "run", "--seeds-dir", str(seeds), "--dry-run", "--json"], db=db_url, env={}
    )
    assert outcome.exit_code == 0, outcome.stderr
    data = json.loads(outcome.stdout)["data"]
    assert data["dry_run"] is True
    assert counts(data)["User"] == (ROWS, 0, 0)
    assert len(data["changes"]) == 1000
    for table in ("users", "audit_log", "seed_history"):
        assert fetch(db_url, f"SELECT count(*) FROM {table}") == [(0,)]
    real, data = run(cli, db_url, seeds)  # and the run after it still goes straight in
    assert counts(data)["User"] == (ROWS, 0, 0), real.stderr
    assert written_by_the_run(db_url, "users") in (0, None)


def test_explicit_ids_move_the_sequence_on(cli, pg_db_url, tmp_path) -> None:
    """Ids given in the file: the next row created without one gets the next free id."""
    create_tables(pg_db_url)
    lines = ["# {model: Badge, key: code}", "id,code,label"]
    lines += [f"{i + 1},b{i},label {i}" for i in range(ROWS)]
    first, _ = run(cli, pg_db_url, seed_set(tmp_path, badges_csv="\n".join(lines) + "\n"))
    assert first.exit_code == 0, first.stderr
    assert written_by_the_run(pg_db_url, "badges") == 0
    more = "models:\n  - model: Badge\n    key: code\n    rows: [{code: new, label: new}]\n"
    again, _ = run(cli, pg_db_url, seed_set(tmp_path / "more", more_yaml=more))
    assert again.exit_code == 0, again.stderr
    assert fetch(pg_db_url, "SELECT id FROM badges WHERE code = 'new'") == [(ROWS + 1,)]


@pytest.mark.parametrize("statement", ['COPY "users"', "INSERT INTO audit_log"])
def test_sigterm_during_the_direct_copy_writes_nothing_and_leaves_nothing_running(
    pg_db_url, tmp_path, statement
) -> None:
    """In the users' COPY, or in their audit rows' INSERT (the next chunk is being converted
    in the worker thread then: the run waits for it and closes the file)."""
    from tests.test_signals import assert_nothing_of_ours_within_2s, ours_on_server, signal_when

    directory = tmp_path / "seeds" / "base"
    directory.mkdir(parents=True)
    (directory / "users.csv").write_text(users_csv(300_000))

    def copying() -> bool:
        return any(
            statement in (query or "") and state == "active"
            for _, state, query in ours_on_server(pg_db_url)
        )

    code, stdout, stderr, sent = signal_when(
        ["seed", "run", "--seeds-dir", str(tmp_path / "seeds")],
        {"DATABASE_URL": pg_db_url, "MANAGE_PASSWORD": PASSWORD},
        copying,
        signal.SIGTERM,
        tmp_path,
    )
    assert (code, stdout) == (143, ""), stderr
    assert stderr == "error: interrupted by SIGTERM; nothing committed\n"
    assert_nothing_of_ours_within_2s(pg_db_url, sent)
    assert fetch(pg_db_url, "SELECT count(*) FROM users") == [(0,)]
    assert fetch(pg_db_url, "SELECT count(*) FROM audit_log") == [(0,)]
