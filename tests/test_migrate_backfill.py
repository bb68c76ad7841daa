"""`manage migrate backfill`: declare, run, resume, require-before, on SQLite and PostgreSQL.

The test chain (tests/migrations_fixtures/backfill/, copied after the shipped revisions into a
temporary MANAGE_MIGRATIONS_DIR): bf000001 creates bf_items; bf000002 adds total and label and
declares bf_total (SQL, integer key) and bf_label (a Python function, text key); bf000003 requires
bf_total before SET NOT NULL. Each batch body counts its visits per row (hits, label_hits): a
batch applied twice shows as 2.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, fetch

FIXTURES = Path(__file__).resolve().parent / "migrations_fixtures" / "backfill"
ROWS = 95


@pytest.fixture
def scripts(tmp_path: Path) -> dict[str, str]:
    copy = tmp_path / "migrations_copy"
    shutil.copytree(REPO / "migrations", copy, ignore=shutil.ignore_patterns("__pycache__"))
    for path in FIXTURES.glob("*.py"):
        shutil.copy(path, copy / "versions" / path.name)
    return {"MANAGE_MIGRATIONS_DIR": str(copy)}


def seed_items(url: str, count: int = ROWS, start: int = 1) -> None:
    for first in range(start, start + count, 500):
        values = ", ".join(
            f"({i}, 'c{i:05d}', {i})" for i in range(first, min(first + 500, start + count))
        )
        fetch(url, f"INSERT INTO bf_items (id, code, qty) VALUES {values}")


def items(url: str) -> list[tuple]:
    return fetch(url, "SELECT id, total, hits, label, label_hits FROM bf_items ORDER BY id")


def expected_items(count: int = ROWS) -> list[tuple]:
    return [(i, 2 * i, 1, f"item-c{i:05d}", 1) for i in range(1, count + 1)]


def progress(url: str, name: str) -> tuple | None:
    rows = fetch(
        url,
        "SELECT state, last_key, rows_done, batches_done FROM manage_backfills WHERE name = :n",
        {"n": name},
    )
    return rows[0] if rows else None


def envelope(stdout: str) -> dict:
    return json.loads(stdout)


@pytest.fixture
def declared(cli, db_url: str, scripts: dict[str, str]) -> str:
    """bf_items holds ROWS rows, and bf000002 (the declaring revision) is applied."""
    assert cli(["migrate", "upgrade", "bf000001"], db=db_url, env=scripts).exit_code == 0
    seed_items(db_url)
    assert cli(["migrate", "upgrade", "bf000002"], db=db_url, env=scripts).exit_code == 0
    return db_url


def test_upgrading_a_declaring_revision_records_pending_backfills_and_changes_no_row(
    declared: str,
) -> None:
    assert progress(declared, "bf_total") == ("pending", None, 0, 0)
    assert progress(declared, "bf_label") == ("pending", None, 0, 0)
    assert {row[1:] for row in items(declared)} == {(None, 0, None, 0)}


def test_dry_run_reports_keys_and_batches_left_and_writes_nothing(
    cli, declared: str, scripts: dict[str, str]
) -> None:
    result = cli(["migrate", "backfill", "--all", "--dry-run", "--json"], db=declared, env=scripts)
    assert result.exit_code == 0, result.stderr
    data = {r["name"]: r for r in envelope(result.stdout)["data"]}
    assert (data["bf_total"]["state"], data["bf_total"]["remaining"]) == ("planned", ROWS)
    assert data["bf_total"]["batches"] == 10  # 95 keys, 10 per batch
    assert data["bf_label"]["batches"] == 19  # 5 per batch
    assert progress(declared, "bf_total") == ("pending", None, 0, 0)
    assert {row[1:] for row in items(declared)} == {(None, 0, None, 0)}


def test_backfill_runs_every_batch_once_and_records_completion(
    cli, declared: str, scripts: dict[str, str]
) -> None:
    result = cli(["migrate", "backfill", "--all", "--json"], db=declared, env=scripts)
    assert result.exit_code == 0, result.stderr
    data = {r["name"]: r for r in envelope(result.stdout)["data"]}
    assert data["bf_total"]["state"] == "complete"
    assert (data["bf_total"]["rows"], data["bf_total"]["batches"]) == (ROWS, 10)
    assert data["bf_total"]["changed"] == ROWS
    assert (data["bf_label"]["rows"], data["bf_label"]["batches"]) == (ROWS, 19)
    assert items(declared) == expected_items()
    assert progress(declared, "bf_total") == ("complete", str(ROWS), ROWS, 10)
    assert progress(declared, "bf_label") == ("complete", f"c{ROWS:05d}", ROWS, 19)
    # Nothing owed: a second run does nothing and says so.
    again = cli(["migrate", "backfill", "--all"], db=declared, env=scripts)
    assert again.exit_code == 0
    assert "every declared backfill is complete" in again.stdout
    assert items(declared) == expected_items()


def test_batch_size_option_overrides_the_declaration(
    cli, declared: str, scripts: dict[str, str]
) -> None:
    args = ["migrate", "backfill", "bf_total", "--batch-size", "50", "--json"]
    result = cli(args, db=declared, env=scripts)
    assert result.exit_code == 0, result.stderr
    assert envelope(result.stdout)["data"][0]["batches"] == 2
    assert progress(declared, "bf_total") == ("complete", str(ROWS), ROWS, 2)


def test_max_seconds_stops_between_batches_and_the_next_run_resumes_exactly(
    cli, declared: str, scripts: dict[str, str]
) -> None:
    args = ["migrate", "backfill", "bf_total", "--pause", "400", "--max-seconds", "1.5", "--json"]
    first = cli(args, db=declared, env=scripts)
    assert first.exit_code == 0, first.stderr
    report = envelope(first.stdout)["data"][0]
    assert report["state"] == "stopped"
    assert 1 <= report["batches"] < 10
    done = report["batches"] * 10
    state, last_key, rows_done, batches = progress(declared, "bf_total")
    assert (state, last_key, rows_done, batches) == ("pending", str(done), done, report["batches"])
    touched = [row for row in items(declared) if row[2]]
    assert [row[0] for row in touched] == list(range(1, done + 1))

    second = cli(["migrate", "backfill", "bf_total", "--json"], db=declared, env=scripts)
    assert second.exit_code == 0, second.stderr
    assert envelope(second.stdout)["data"][0]["rows"] == ROWS - done
    assert [row[:3] for row in items(declared)] == [(i, 2 * i, 1) for i in range(1, ROWS + 1)]


def test_rows_added_after_a_stop_are_walked_by_the_resumed_run(
    cli, declared: str, scripts: dict[str, str]
) -> None:
    args = ["migrate", "backfill", "bf_total", "--max-seconds", "0", "--json"]
    assert envelope(cli(args, db=declared, env=scripts).stdout)["data"][0]["state"] == "stopped"
    seed_items(declared, count=5, start=ROWS + 1)
    assert cli(["migrate", "backfill", "bf_total"], db=declared, env=scripts).exit_code == 0
    assert [row[:3] for row in items(declared)] == [(i, 2 * i, 1) for i in range(1, ROWS + 6)]


def test_a_revision_id_runs_the_backfills_it_declares(
    cli, declared: str, scripts: dict[str, str]
) -> None:
    result = cli(["migrate", "backfill", "bf000002", "--json"], db=declared, env=scripts)
    assert result.exit_code == 0, result.stderr
    assert [r["name"] for r in envelope(result.stdout)["data"]] == ["bf_total", "bf_label"]
    assert items(declared) == expected_items()


@pytest.mark.parametrize(
    ("args", "exit_code", "error_code", "words"),
    [
        (["nosuchthing"], 5, "BAD_REVISION", "neither a backfill name nor a known revision"),
        (["bf000001"], 3, "NOT_FOUND", "revision bf000001 declares no backfill"),
    ],
)
def test_unknown_targets_exit_with_one_line_and_change_nothing(
    cli, declared: str, scripts: dict[str, str], args, exit_code, error_code, words
) -> None:
    result = cli(["migrate", "backfill", *args, "--json"], db=declared, env=scripts)
    assert result.exit_code == exit_code
    assert envelope(result.stdout)["error_code"] == error_code
    assert words in result.stderr and "Traceback" not in result.stderr
    assert progress(declared, "bf_total") == ("pending", None, 0, 0)


def test_a_backfill_whose_revision_is_not_applied_is_refused_with_the_upgrade_to_run(
    cli, db_url: str, scripts: dict[str, str]
) -> None:
    assert cli(["migrate", "upgrade", "bf000001"], db=db_url, env=scripts).exit_code == 0
    result = cli(["migrate", "backfill", "bf_total"], db=db_url, env=scripts)
    assert result.exit_code == 5
    assert "manage migrate upgrade bf000002" in result.stderr


@pytest.mark.parametrize("args", [[], ["bf_total", "--all"]])
def test_target_and_all_are_one_or_the_other_exit_2(cli, args) -> None:
    result = cli(["migrate", "backfill", *args])
    assert result.exit_code == 2
    assert "--all" in result.stderr


def test_require_backfill_refuses_the_upgrade_until_the_backfill_is_complete(
    cli, declared: str, scripts: dict[str, str]
) -> None:
    refused = cli(["migrate", "upgrade", "--json"], db=declared, env=scripts)
    assert refused.exit_code == 7
    body = envelope(refused.stdout)
    assert body["error_code"] == "BACKFILL_PENDING"
    assert "manage migrate backfill bf_total" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert fetch(declared, "SELECT version_num FROM alembic_version") == [("bf000002",)]

    assert cli(["migrate", "backfill", "bf_total"], db=declared, env=scripts).exit_code == 0
    applied = cli(["migrate", "upgrade"], db=declared, env=scripts)
    assert applied.exit_code == 0, applied.stderr
    assert fetch(declared, "SELECT version_num FROM alembic_version") == [("bf000003",)]
    with pytest.raises(Exception, match=r"(?i)not.null|null value"):
        fetch(declared, "INSERT INTO bf_items (id, code, qty) VALUES (999, 'z', 1)")


def test_a_fresh_database_upgrades_to_head_since_an_empty_table_owes_nothing(
    cli, blank_db_url: str, scripts: dict[str, str]
) -> None:
    result = cli(["migrate", "upgrade"], db=blank_db_url, env=scripts)
    assert result.exit_code == 0, result.stderr
    assert progress(blank_db_url, "bf_total")[0] == "complete"
    assert progress(blank_db_url, "bf_label")[0] == "pending"  # never required
    # ... and an empty table owes nothing: no warning from status on a fresh database.
    status = cli(["migrate", "status", "--json"], db=blank_db_url, env=scripts)
    assert envelope(status.stdout)["data"]["backfills"] == []
    assert "backfill" not in cli(["migrate", "status"], db=blank_db_url, env=scripts).stderr


def test_upgrade_names_the_backfills_the_applied_revisions_declared(
    cli, db_url: str, scripts: dict[str, str]
) -> None:
    assert cli(["migrate", "upgrade", "bf000001"], db=db_url, env=scripts).exit_code == 0
    seed_items(db_url)
    result = cli(["migrate", "upgrade", "bf000002"], db=db_url, env=scripts)
    assert result.exit_code == 0, result.stderr
    assert "revision bf000002 declared backfill bf_total" in result.stderr
    assert "manage migrate backfill bf_label" in result.stderr


def test_status_and_db_check_show_owed_backfills_until_they_complete(
    cli, declared: str, scripts: dict[str, str]
) -> None:
    args = ["migrate", "backfill", "bf_total", "--max-seconds", "1.5", "--pause", "400"]
    assert cli(args, db=declared, env=scripts).exit_code == 0
    status = cli(["migrate", "status", "--json"], db=declared, env=scripts)
    assert status.exit_code == 0
    owed = {b["name"]: b for b in envelope(status.stdout)["data"]["backfills"]}
    assert owed["bf_total"]["state"] == "partial" and owed["bf_total"]["rows_done"] > 0
    assert owed["bf_label"]["state"] == "pending"
    human = cli(["migrate", "status"], db=declared, env=scripts)
    assert "backfill bf_total (bf000002, bf_items): partial" in human.stderr

    # db check (at head): reported, never a reason to be unready (the app runs meanwhile).
    assert cli(["migrate", "backfill", "bf_total"], db=declared, env=scripts).exit_code == 0
    assert cli(["migrate", "upgrade"], db=declared, env=scripts).exit_code == 0
    check = cli(["db", "check", "--json"], db=declared, env=scripts)
    report = envelope(check.stdout)["data"]
    assert [b["name"] for b in report["backfills"]] == ["bf_label"]
    assert report["problems"] == ["no active superuser: run `manage users create-superuser`"]

    assert cli(["migrate", "backfill", "--all"], db=declared, env=scripts).exit_code == 0
    status = cli(["migrate", "status", "--json"], db=declared, env=scripts)
    assert envelope(status.stdout)["data"]["backfills"] == []
    assert "backfill" not in cli(["migrate", "status"], db=declared, env=scripts).stderr


def test_make_empty_with_backfill_scaffolds_a_revision_that_declares_one(
    cli, db_url: str, scripts: dict[str, str]
) -> None:
    made = cli(
        ["migrate", "make", "-m", "fill users", "--empty", "--backfill", "users", "--json"],
        db=db_url,
        env=scripts,
    )
    assert made.exit_code == 0, made.stderr
    data = envelope(made.stdout)["data"]
    source = Path(data["path"]).read_text()
    assert "from db.backfill import Backfill" in source
    assert ".declare()" in source and ".forget()" in source
    name = f"users_{data['revision']}"
    assert cli(["migrate", "upgrade"], db=db_url, env=scripts).exit_code == 0
    assert progress(db_url, name) == ("pending", None, 0, 0)
    plan = cli(["migrate", "backfill", name, "--dry-run", "--json"], db=db_url, env=scripts)
    assert plan.exit_code == 0, plan.stderr
    assert envelope(plan.stdout)["data"][0]["table"] == "users"


@pytest.mark.parametrize(
    "args",
    [["--backfill", "users"], ["--empty", "--backfill", "users; DROP TABLE users"]],
    ids=["without-empty", "not-a-table-name"],
)
def test_make_backfill_refuses_bad_combinations_with_exit_5_and_writes_nothing(
    cli, scripts: dict[str, str], args
) -> None:
    before = set((Path(scripts["MANAGE_MIGRATIONS_DIR"]) / "versions").glob("*.py"))
    result = cli(["migrate", "make", "-m", "x", *args], env=scripts)
    assert result.exit_code == 5
    assert "--backfill" in result.stderr
    assert set((Path(scripts["MANAGE_MIGRATIONS_DIR"]) / "versions").glob("*.py")) == before


def test_downgrading_the_declaring_revision_forgets_its_backfills(
    cli, declared: str, scripts: dict[str, str]
) -> None:
    assert cli(["migrate", "backfill", "bf_total"], db=declared, env=scripts).exit_code == 0
    down = cli(["migrate", "downgrade", "bf000001", "--yes"], db=declared, env=scripts)
    assert down.exit_code == 0, down.stderr
    assert progress(declared, "bf_total") is None and progress(declared, "bf_label") is None
    # Applied again: pending again, from the first key.
    assert cli(["migrate", "upgrade", "bf000002"], db=declared, env=scripts).exit_code == 0
    assert progress(declared, "bf_total") == ("pending", None, 0, 0)


def test_upgrading_through_a_declaring_and_a_requiring_revision_at_once_tells_what_to_run(
    cli, db_url: str, scripts: dict[str, str], backend: str
) -> None:
    assert cli(["migrate", "upgrade", "bf000001"], db=db_url, env=scripts).exit_code == 0
    seed_items(db_url)
    refused = cli(["migrate", "upgrade"], db=db_url, env=scripts)
    assert refused.exit_code == 7
    assert "manage migrate backfill bf_total" in refused.stderr
    hint = "upgrade to the revision that declares it, run"
    assert (hint in refused.stderr) == (backend == "sqlite")
    # PostgreSQL keeps the revisions before the refusing one; SQLite's run is one transaction.
    at = "bf000002" if backend == "postgresql" else "bf000001"
    assert fetch(db_url, "SELECT version_num FROM alembic_version") == [(at,)]
    step = cli(["migrate", "backfill", "bf_total"], db=db_url, env=scripts)
    if backend == "sqlite":
        assert step.exit_code == 5
        assert "run `manage migrate upgrade bf000002` first" in step.stderr
        assert cli(["migrate", "upgrade", "bf000002"], db=db_url, env=scripts).exit_code == 0
        step = cli(["migrate", "backfill", "bf_total"], db=db_url, env=scripts)
    assert step.exit_code == 0, step.stderr
    assert cli(["migrate", "upgrade"], db=db_url, env=scripts).exit_code == 0
    assert fetch(db_url, "SELECT version_num FROM alembic_version") == [("bf000003",)]


def test_upgrade_of_a_fresh_database_announces_no_backfill(
    cli, blank_db_url: str, scripts: dict[str, str]
) -> None:
    result = cli(["migrate", "upgrade", "bf000002"], db=blank_db_url, env=scripts)
    assert result.exit_code == 0, result.stderr
    assert "backfill" not in result.stderr
