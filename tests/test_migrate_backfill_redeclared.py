# ruff: noqa: F811 (the fixtures imported below are parameters of the tests)
"""A declaration edited after it ran, and `--all` before the declaring revisions are applied.

The cursor in manage_backfills belongs to the declaration that produced it: a later edit of the
revision file to another key (its cursor is in another key space), another table, or other batch
work must never resume from it silently (skipping rows, or applying batches twice). The run
refuses, exit 5, naming what changed and the way on (`--restart`); `--restart` walks the table
again under the new declaration.

Fixtures and the test chain: tests/test_migrate_backfill.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_migrate_backfill import (  # noqa: F401 (fixtures)
    ROWS,
    declared,
    envelope,
    items,
    progress,
    scripts,
    seed_items,
)

TOTAL_SQL = '"UPDATE bf_items SET total = qty * 2, hits = hits + 1 WHERE id BETWEEN :lo AND :hi"'


def _declaring_file(scripts: dict[str, str]) -> Path:
    versions = Path(scripts["MANAGE_MIGRATIONS_DIR"]) / "versions"
    return next(versions.glob("*bf000002_declare.py"))


def _edit(scripts: dict[str, str], old: str, new: str) -> None:
    path = _declaring_file(scripts)
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def _partial(cli, url: str, scripts: dict[str, str]) -> int:
    """Run bf_total for a few batches of 10 (again while a loaded machine got none); the keys
    done."""
    args = ["migrate", "backfill", "bf_total", "--pause", "1000", "--max-seconds", "2", "--json"]
    batches = 0
    for _ in range(5):
        result = cli(args, db=url, env=scripts)
        assert result.exit_code == 0, result.stderr
        report = envelope(result.stdout)["data"][0]
        assert report["state"] == "stopped"
        batches += report["batches"]
        if batches:
            return batches * 10
    raise AssertionError("no batch ran in 5 slices of 2 s")


EDITS = {
    # Another key: the cursor '30' read as a code would put every 'c000..' key after it.
    "key": (
        'key="id",\n    sql=' + TOTAL_SQL,
        'key="code",\n    sql="UPDATE bf_items SET total = qty * 2, hits = hits + 1 '
        'WHERE code BETWEEN :lo AND :hi"',
    ),
    # Other work on the same key: half the table would get one, half the other.
    "sql": ("SET total = qty * 2, hits", "SET total = qty * 3, hits"),
    "table": ('table="bf_items",\n    key="id"', 'table="bf_other",\n    key="id"'),
}


@pytest.mark.parametrize("what", list(EDITS))
def test_a_declaration_edited_after_batches_ran_is_refused_exit_5_and_nothing_changes(
    cli, declared: str, scripts: dict[str, str], what: str
) -> None:
    done = _partial(cli, declared, scripts)
    before_rows, before_progress = items(declared), progress(declared, "bf_total")
    _edit(scripts, *EDITS[what])

    for args in (["bf_total"], ["bf_total", "--dry-run"], ["--all"]):
        result = cli(["migrate", "backfill", *args], db=declared, env=scripts)
        assert result.exit_code == 5, (args, result.stdout, result.stderr)
        line = result.stderr.strip().splitlines()[-1]
        assert "bf_total" in line and "changed" in line and "--restart" in line, line
        assert what in line, line
    assert items(declared) == before_rows
    assert progress(declared, "bf_total") == before_progress
    assert done < ROWS


def test_a_complete_backfill_whose_sql_changed_is_not_reported_complete(
    cli, declared: str, scripts: dict[str, str]
) -> None:
    assert cli(["migrate", "backfill", "bf_total"], db=declared, env=scripts).exit_code == 0
    _edit(scripts, *EDITS["sql"])
    result = cli(["migrate", "backfill", "bf_total", "--json"], db=declared, env=scripts)
    assert result.exit_code == 5, result.stdout
    status = cli(["migrate", "status", "--json"], db=declared, env=scripts)
    listed = {b["name"]: b["state"] for b in envelope(status.stdout)["data"]["backfills"]}
    assert listed.get("bf_total") == "changed", status.stdout


def test_restart_walks_the_table_again_under_the_new_declaration(
    cli, declared: str, scripts: dict[str, str]
) -> None:
    done = _partial(cli, declared, scripts)
    _edit(scripts, *EDITS["key"])
    result = cli(
        ["migrate", "backfill", "bf_total", "--restart", "--json"], db=declared, env=scripts
    )
    assert result.exit_code == 0, result.stderr
    report = envelope(result.stdout)["data"][0]
    assert (report["state"], report["rows"], report["rows_done"]) == ("complete", ROWS, ROWS)
    # Restarting is explicit re-application: the rows done before are visited once more.
    hits = [row[2] for row in items(declared)]
    assert hits == [2] * done + [1] * (ROWS - done)
    assert progress(declared, "bf_total")[0] == "complete"
    # Now it matches: a plain run has nothing to refuse.
    assert cli(["migrate", "backfill", "bf_total"], db=declared, env=scripts).exit_code == 0


def test_an_edit_before_any_batch_ran_is_simply_the_declaration_run(
    cli, declared: str, scripts: dict[str, str]
) -> None:
    _edit(scripts, *EDITS["sql"])
    result = cli(["migrate", "backfill", "bf_total", "--json"], db=declared, env=scripts)
    assert result.exit_code == 0, result.stderr
    assert [row[1] for row in items(declared)] == [3 * i for i in range(1, ROWS + 1)]


def test_restart_needs_a_named_backfill(cli, declared: str, scripts: dict[str, str]) -> None:
    result = cli(["migrate", "backfill", "--all", "--restart"], db=declared, env=scripts)
    assert result.exit_code == 2
    assert progress(declared, "bf_total") == ("pending", None, 0, 0)


def test_all_before_the_declaring_revisions_are_applied_says_so_not_complete(
    cli, db_url: str, scripts: dict[str, str]
) -> None:
    assert cli(["migrate", "upgrade", "bf000001"], db=db_url, env=scripts).exit_code == 0
    seed_items(db_url)
    result = cli(["migrate", "backfill", "--all"], db=db_url, env=scripts)
    assert result.exit_code == 0, result.stderr
    said = result.stdout + result.stderr
    assert "every declared backfill is complete" not in said
    assert "2 declared backfills" in said and "not applied" in said, said
    assert "bf000002" in said, said
    as_json = cli(["migrate", "backfill", "--all", "--json"], db=db_url, env=scripts)
    assert envelope(as_json.stdout)["data"] == []
