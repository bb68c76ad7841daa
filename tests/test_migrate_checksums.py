"""Revision checksums: a revision file edited after it was applied is flagged.

Edits happen in a temporary copy of migrations/ (MANAGE_MIGRATIONS_DIR), never the repo.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, fetch, manage_env

TABLE = "manage_revision_checksums"
# The shipped chain, oldest first (file names are date-prefixed: NAME-REV_slug.py).
SHIPPED = [
    path.name.split("-", 1)[1].split("_", 1)[0]
    for path in sorted((REPO / "migrations" / "versions").glob("*-*_*.py"))
]
FIRST, SECOND, LAST = SHIPPED[0], SHIPPED[1], SHIPPED[-1]


def _all(value: bool | None) -> dict[str, bool | None]:
    return dict.fromkeys(SHIPPED, value)


@pytest.fixture
def scripts(tmp_path: Path) -> dict[str, str]:
    copy = tmp_path / "migrations_copy"
    shutil.copytree(REPO / "migrations", copy, ignore=shutil.ignore_patterns("__pycache__"))
    return {"MANAGE_MIGRATIONS_DIR": str(copy)}


def _file(scripts: dict[str, str], revision: str) -> Path:
    (path,) = (Path(scripts["MANAGE_MIGRATIONS_DIR"]) / "versions").glob(f"*-{revision}_*.py")
    return path


def _edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n# edited after it was applied\n")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def _rows(url: str) -> dict[str, str]:
    return dict(fetch(url, f"SELECT revision, checksum FROM {TABLE}"))


def _edited(cli, url: str, scripts: dict[str, str]) -> dict[str, bool | None]:
    outcome = cli(["migrate", "status", "--json"], db=url, env=scripts)
    assert outcome.exit_code == 0, outcome.stderr
    return {
        rev["revision"]: rev["edited"] for rev in json.loads(outcome.stdout)["data"]["revisions"]
    }


def test_upgrade_records_the_checksum_of_each_applied_file(cli, blank_db_url, scripts) -> None:
    assert cli(["migrate", "upgrade"], db=blank_db_url, env=scripts).exit_code == 0
    assert _rows(blank_db_url) == {rev: _sha(_file(scripts, rev)) for rev in SHIPPED}
    assert _edited(cli, blank_db_url, scripts) == _all(False)


def test_editing_an_applied_revision_is_flagged_by_status_and_db_check(
    cli, blank_db_url, scripts
) -> None:
    cli(["migrate", "upgrade"], db=blank_db_url, env=scripts)
    edited = _file(scripts, FIRST)
    _edit(edited)

    assert _edited(cli, blank_db_url, scripts) == {**_all(False), FIRST: True}
    shown = cli(["migrate", "status"], db=blank_db_url, env=scripts)
    assert shown.exit_code == 0
    assert f"edited after applied: {edited.name} ({FIRST})" in shown.stderr

    gate = cli(["migrate", "status", "--check", "--json"], db=blank_db_url, env=scripts)
    assert gate.exit_code == 1
    document = json.loads(gate.stdout)
    assert document["error_code"] == "REVISION_EDITED"
    assert edited.name in document["message"]

    plain = cli(["migrate", "status", "--check"], db=blank_db_url, env=scripts)
    assert plain.exit_code == 1 and "Traceback" not in plain.stderr
    assert edited.name in plain.stderr
    assert len(plain.stderr.strip().splitlines()) == 1  # said once, on one line

    ready = cli(["db", "check"], db=blank_db_url, env=scripts)
    assert ready.exit_code == 1
    assert edited.name in ready.stderr + ready.stdout


def test_an_edit_to_a_pending_revision_is_not_flagged(cli, blank_db_url, scripts) -> None:
    cli(["migrate", "upgrade", FIRST], db=blank_db_url, env=scripts)
    _edit(_file(scripts, SECOND))
    assert _edited(cli, blank_db_url, scripts) == {**_all(None), FIRST: False}
    gate = cli(["migrate", "status", "--check", "--json"], db=blank_db_url, env=scripts)
    assert gate.exit_code == 1
    assert json.loads(gate.stdout)["error_code"] == "PENDING_MIGRATIONS"


def test_downgrade_forgets_and_reupgrade_records_the_new_checksum(
    cli, blank_db_url, scripts
) -> None:
    cli(["migrate", "upgrade"], db=blank_db_url, env=scripts)
    last = _file(scripts, LAST)
    _edit(last)
    assert _edited(cli, blank_db_url, scripts)[LAST] is True

    down = cli(["migrate", "downgrade", "-1", "--yes"], db=blank_db_url, env=scripts)
    assert down.exit_code == 0, down.stderr
    assert set(_rows(blank_db_url)) == set(SHIPPED[:-1])

    assert cli(["migrate", "upgrade"], db=blank_db_url, env=scripts).exit_code == 0
    assert _rows(blank_db_url)[LAST] == _sha(last)
    assert cli(["migrate", "status", "--check"], db=blank_db_url, env=scripts).exit_code == 0


def test_restamping_an_edited_revision_records_it_again(cli, blank_db_url, scripts) -> None:
    cli(["migrate", "upgrade"], db=blank_db_url, env=scripts)
    _edit(_file(scripts, FIRST))
    assert cli(["migrate", "stamp", FIRST, "--yes"], db=blank_db_url, env=scripts).exit_code == 0
    assert set(_rows(blank_db_url)) == {FIRST}  # the later ones are no longer marked applied
    assert cli(["migrate", "stamp", "head", "--yes"], db=blank_db_url, env=scripts).exit_code == 0
    assert _edited(cli, blank_db_url, scripts) == _all(False)


def test_a_line_ending_only_change_is_not_an_edit(cli, blank_db_url, scripts) -> None:
    cli(["migrate", "upgrade"], db=blank_db_url, env=scripts)
    path = _file(scripts, FIRST)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert _edited(cli, blank_db_url, scripts) == _all(False)
    assert cli(["migrate", "status", "--check"], db=blank_db_url, env=scripts).exit_code == 0


def test_migrate_check_and_make_ignore_the_bookkeeping_table(cli, db_url, scripts) -> None:
    assert _rows(db_url)  # the migrated fixture was upgraded by manage
    outcome = cli(["migrate", "check"], db=db_url)
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert TABLE not in outcome.stdout
    made = cli(["migrate", "make", "-m", "nothing"], db=db_url, env=scripts)
    assert made.exit_code == 0, made.stderr
    assert "no changes" in made.stdout


def test_plain_alembic_records_nothing_and_nothing_is_flagged(cli, blank_db_url) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=REPO,
        env=manage_env(blank_db_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    status = json.loads(cli(["migrate", "status", "--json"], db=blank_db_url).stdout)["data"]
    assert [rev["edited"] for rev in status["revisions"]] == [None] * len(SHIPPED)
    assert cli(["migrate", "status", "--check"], db=blank_db_url).exit_code == 0


def test_db_reset_starts_the_checksums_over_from_the_current_files(cli, db_url, scripts) -> None:
    fetch(db_url, f"UPDATE {TABLE} SET checksum = 'stale'")
    outcome = cli(["db", "reset", "--yes"], db=db_url, env=scripts)
    assert outcome.exit_code == 0, outcome.stderr
    assert _rows(db_url) == {rev: _sha(_file(scripts, rev)) for rev in SHIPPED}
