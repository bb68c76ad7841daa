"""Tables at 80 columns, as a person at a terminal reads them: keys whole, timestamps to the
second, audit details on one line cut with an ellipsis, and a footer for what a limited
table leaves out."""

from __future__ import annotations

import json
import re

import pytest
from rich.cells import cell_len

from tests.conftest import ScratchDatabases

LONG_EMAIL = "firstname.lastname+ops@platform.example.com"  # 43 characters
TIMESTAMP = re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\b(?![.:])")
NARROW = {"COLUMNS": "80"}


@pytest.fixture
def sqlite_url(scratch: ScratchDatabases) -> str:
    return scratch.migrated("sqlite")


def _create(cli, db: str, email: str, **extra: str) -> None:
    args = ["users", "create", "--email", email, "--password-stdin"]
    for option, value in extra.items():
        args += [f"--{option.replace('_', '-')}", value]
    outcome = cli(args, input="Correct-Horse-9\n", db=db)
    assert outcome.exit_code == 0, outcome.stderr


def test_users_list_fits_80_columns_with_the_time_to_the_second(cli, sqlite_url) -> None:
    _create(cli, sqlite_url, "ops@example.com", full_name="Someone With A Long Name")
    outcome = cli(["users", "list"], env=NARROW, db=sqlite_url)

    assert outcome.exit_code == 0, outcome.stderr
    header, row, *_ = outcome.stdout.splitlines()
    assert header.split() == ["id", "email", "name", "active", "superuser", "roles", "created"]
    assert "ops@example.com" in row and TIMESTAMP.search(row), outcome.stdout
    assert all(len(line) <= 80 for line in outcome.stdout.splitlines()), outcome.stdout
    assert outcome.stderr == ""


def test_users_list_keeps_a_long_email_whole_and_leaves_out_columns_instead(
    cli, sqlite_url
) -> None:
    _create(cli, sqlite_url, LONG_EMAIL, full_name="Someone With A Rather Long Display Name")
    outcome = cli(["users", "list"], env=NARROW, db=sqlite_url)

    assert outcome.exit_code == 0, outcome.stderr
    header, row = outcome.stdout.splitlines()
    assert header.split() == ["id", "email", "active", "superuser"]
    assert row.split()[1] == LONG_EMAIL
    assert "…" not in outcome.stdout and len(row) <= 80
    assert outcome.stderr.strip() == (
        "roles, name, created left out at 80 columns: see `manage users show EMAIL` or --json"
    )


def test_audit_list_details_are_one_compact_line_cut_with_an_ellipsis(cli, sqlite_url) -> None:
    description = "Read-only access to everything that is auditable, for the yearly review"
    outcome = cli(
        ["roles", "create", "auditor", "-d", description, "-p", "audit:read"], db=sqlite_url
    )
    assert outcome.exit_code == 0, outcome.stderr

    listed = cli(["audit", "list"], env=NARROW, db=sqlite_url)

    assert listed.exit_code == 0, listed.stderr
    header, row, *rest = listed.stdout.splitlines()
    assert header.split() == ["at", "actor", "action", "target", "details"]
    assert rest == []  # one entry, one line
    assert TIMESTAMP.match(row)
    assert '{"description":"Read-on' in row  # compact JSON: no space after ':'
    assert row.rstrip().endswith("…") and len(row) <= 80
    full = cli(["audit", "list", "--json"], db=sqlite_url).stdout
    assert description in full


def test_a_limited_audit_list_says_how_many_more_and_how_to_see_them(cli, sqlite_url) -> None:
    for n in range(4):
        _create(cli, sqlite_url, f"user{n}@example.com")

    outcome = cli(["audit", "list", "--limit", "3"], env=NARROW, db=sqlite_url)

    assert outcome.exit_code == 0, outcome.stderr
    assert len(outcome.stdout.splitlines()) == 1 + 3
    assert outcome.stderr.strip() == "1 more; use --limit (up to 10000), --action or --target"
    assert cli(["audit", "list", "--limit", "4"], db=sqlite_url).stderr == ""
    document = cli(["audit", "list", "--limit", "3", "--json"], db=sqlite_url)
    assert len(json.loads(document.stdout)["data"]) == 3
    assert document.stderr == (  # as users list --json: the count on stderr, stdout pure JSON
        "warning: 1 more; use --limit (up to 10000), --action or --target\n"
    )


def test_users_list_footer_names_the_next_page(cli, sqlite_url) -> None:
    for n in range(3):
        _create(cli, sqlite_url, f"user{n}@example.com")

    outcome = cli(["users", "list", "--limit", "2"], env=NARROW, db=sqlite_url)

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stderr.strip() == (
        "1 more (accounts 1-2 of 3 shown); use --offset 2 for the next page, --limit or --all"
    )
    assert outcome.stdout.splitlines()[-1].split()[1] == "user1@example.com"  # footer: stderr


def test_config_show_never_cuts_the_database_url(cli) -> None:
    url = "postgresql+asyncpg://app_user@db-primary.internal.example.com:5432/production?x=1"
    outcome = cli(["config", "show"], env={**NARROW, "DATABASE_URL": url})

    lines = outcome.stdout.splitlines()
    start, end = lines[0].index("value"), lines[0].index("source")
    at = next(i for i, line in enumerate(lines) if line.startswith("DATABASE_URL"))
    pieces = [lines[at][start:end].strip()]
    for line in lines[at + 1 :]:
        if line[:start].strip():  # the next setting
            break
        pieces.append(line[start:end].strip())
    assert "".join(pieces) == url
    assert "…" not in outcome.stdout
    assert all(len(line) <= 80 for line in lines)


def test_migrate_status_keeps_revision_ids_whole_and_times_to_the_second(cli, sqlite_url) -> None:
    outcome = cli(["migrate", "status"], env=NARROW, db=sqlite_url)

    assert outcome.exit_code == 0, outcome.stderr
    rows = [line for line in outcome.stdout.splitlines() if re.match(r"[0-9a-f]{12}  ", line)]
    assert rows, outcome.stdout
    assert all(TIMESTAMP.search(row) for row in rows), outcome.stdout
    assert not re.search(r"\d\d:\d\d:\d\d\.\d", outcome.stdout)


def test_a_key_of_wide_characters_is_measured_in_cells_and_never_cut(cli, sqlite_url) -> None:
    # Each CJK character takes two terminal cells: a width counted in characters made the
    # email column half as wide as its email, and rich cut the email with an ellipsis.
    wide = "山田太郎山田太郎山田太郎@example.com"
    _create(cli, sqlite_url, wide, full_name="Yamada")
    _create(cli, sqlite_url, "bob@example.com", full_name="Bob")
    for command in (["users", "list"], ["audit", "list"]):
        outcome = cli(command, env=NARROW, db=sqlite_url)
        assert outcome.exit_code == 0, outcome.stderr
        assert wide in outcome.stdout, outcome.stdout
    # users list fits: the optional columns it leaves out are counted in cells too.
    listed = cli(["users", "list"], env=NARROW, db=sqlite_url).stdout
    assert all(cell_len(line) <= 80 for line in listed.splitlines()), listed
