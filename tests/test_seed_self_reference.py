"""Rows of a self-referencing table are written parents first, wherever they appear in a run.

`categories.parent_id` names the parent by natural key; a child above its parent in a section,
or in a file that sorts earlier, used to fail "no categories row".
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from tests.conftest import fetch
from tests.seed_models import create_tables

HEADER = "model: Category\nkey: [name]\nrows:\n"


def write(path: Path, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(f"  - {r}\n" for r in rows), encoding="utf-8")


def tree(db_url: str) -> dict[str, str | None]:
    rows = fetch(
        db_url,
        "SELECT c.name, p.name FROM categories c LEFT JOIN categories p ON p.id = c.parent_id",
    )
    return dict(rows)


LAYOUTS = {
    "child_above_parent_in_one_section": {
        "a.yaml": [
            "{name: leaf, parent_id: {name: branch}}",
            "{name: branch, parent_id: {name: root}}",
            "{name: root}",
        ],
    },
    "child_in_an_earlier_file": {
        "a.yaml": ["{name: leaf, parent_id: {name: branch}}"],
        "b.yaml": ["{name: branch, parent_id: {name: root}}"],
        "c.yaml": ["{name: root}"],
    },
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_children_before_their_parents_are_written_after_them_and_a_rerun_changes_nothing(
    cli, db_url, tmp_path, monkeypatch, layout
) -> None:
    create_tables(db_url)
    monkeypatch.chdir(tmp_path)
    for name, rows in LAYOUTS[layout].items():
        write(tmp_path / "seeds" / "dev" / name, rows)
    first = cli(["seed", "run", "dev"], db=db_url)
    assert first.exit_code == 0, first.stderr
    assert tree(db_url) == {"root": None, "branch": "root", "leaf": "branch"}
    again = cli(["seed", "run", "dev", "--json"], db=db_url)
    assert again.exit_code == 0, again.stderr
    counts = {m["model"]: m for m in json.loads(again.stdout)["data"]["models"]}
    assert counts["Category"]["created"] == 0 and counts["Category"]["updated"] == 0


def test_a_reference_cycle_is_exit_5_naming_the_rows_and_writes_nothing(
    cli, db_url, tmp_path, monkeypatch
) -> None:
    create_tables(db_url)
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path / "cycle.yaml",
        [
            "{name: ok}",
            "{name: egg, parent_id: {name: hen}}",
            "{name: hen, parent_id: {name: egg}}",
        ],
    )
    outcome = cli(["seed", "run", "cycle.yaml"], db=db_url)
    assert outcome.exit_code == 5, outcome.stderr
    assert "rows reference each other in a cycle (cycle.yaml:5, cycle.yaml:6)" in outcome.stderr
    assert outcome.stderr.startswith("error: cycle.yaml:5: models[0].rows[1]")
    assert fetch(db_url, "SELECT count(*) FROM categories") == [(0,)]


def test_a_row_that_names_itself_as_parent_is_a_cycle(cli, db_url, tmp_path, monkeypatch) -> None:
    create_tables(db_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "self.yaml").write_text(
        dedent(HEADER) + "  - {name: ouroboros, parent_id: {name: ouroboros}}\n", encoding="utf-8"
    )
    outcome = cli(["seed", "run", "self.yaml"], db=db_url)
    assert outcome.exit_code == 5, outcome.stderr
    assert "rows reference each other in a cycle (self.yaml:4)" in outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM categories") == [(0,)]
