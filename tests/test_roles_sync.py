"""Roles as code: `roles export` and `roles sync` (plan, dry run, prune, idempotency)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import fetch
from tests.roles_support import audit_rows, create_user, member_rows, permission_rows, role_rows

ROLES_YAML = """\
version: 1
roles:
  - name: auditor
    description: Read-only access
    permissions: [roles:read, audit:read]
  - name: editor
    permissions:
      - posts:*
"""


@pytest.fixture
def roles_file(tmp_path: Path) -> Path:
    path = tmp_path / "roles.yaml"
    path.write_text(ROLES_YAML, encoding="utf-8")
    return path


def test_sync_shows_the_plan_and_creates_the_roles(cli, db_url, roles_file) -> None:
    outcome = cli(["roles", "sync", str(roles_file)], db=db_url)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.splitlines() == [
        "+ auditor (+audit:read; +roles:read)",
        "+ editor (+posts:*)",
        "applied 2 change(s)",
    ]
    assert role_rows(db_url) == [("auditor", "Read-only access"), ("editor", "")]
    assert permission_rows(db_url, "auditor") == ["audit:read", "roles:read"]


def test_a_second_sync_changes_nothing_and_says_so(cli, db_url, roles_file) -> None:
    cli(["roles", "sync", str(roles_file)], db=db_url)
    before = audit_rows(db_url)
    again = cli(["roles", "sync", str(roles_file)], db=db_url)
    assert again.exit_code == 0
    assert again.stdout.strip() == "nothing to change: the roles already match the file"
    assert audit_rows(db_url) == before


def test_sync_changes_permissions_and_description_with_tilde_lines(cli, db_url, roles_file) -> None:
    cli(["roles", "sync", str(roles_file)], db=db_url)
    roles_file.write_text(
        ROLES_YAML.replace("[roles:read, audit:read]", "[roles:read, users:read]").replace(
            "Read-only access", "Reads things"
        ),
        encoding="utf-8",
    )
    outcome = cli(["roles", "sync", str(roles_file)], db=db_url)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.splitlines()[0] == (
        "~ auditor (+users:read; -audit:read; description: 'Reads things')"
    )
    assert permission_rows(db_url, "auditor") == ["roles:read", "users:read"]
    assert role_rows(db_url)[0] == ("auditor", "Reads things")
    assert [a for a, _ in audit_rows(db_url)][-3:] == ["role.update", "role.permit", "role.forbid"]


def test_dry_run_prints_the_plan_and_writes_nothing(cli, db_url, roles_file) -> None:
    outcome = cli(["roles", "sync", str(roles_file), "--dry-run"], db=db_url)
    assert outcome.exit_code == 0
    assert "+ auditor" in outcome.stdout
    assert "dry run: 2 change(s) planned, nothing written" in outcome.stdout
    assert role_rows(db_url) == []
    assert audit_rows(db_url) == []


def test_roles_missing_from_the_file_are_kept_without_prune(cli, db_url, roles_file) -> None:
    cli(["roles", "create", "legacy"], db=db_url)
    outcome = cli(["roles", "sync", str(roles_file)], db=db_url)
    assert outcome.exit_code == 0
    assert "kept (not in the file; --prune removes them): legacy" in outcome.stdout
    assert [name for name, _ in role_rows(db_url)] == ["auditor", "editor", "legacy"]


def test_prune_removes_roles_missing_from_the_file_after_confirmation(
    cli, db_url, roles_file
) -> None:
    cli(["roles", "create", "legacy", "-p", "old:*"], db=db_url)
    cli(["roles", "create", "editor", "-p", "posts:*"], db=db_url)  # kept: no --prune-all
    refused = cli(["roles", "sync", str(roles_file), "--prune"], db=db_url)
    assert refused.exit_code == 7
    assert [name for name, _ in role_rows(db_url)] == ["editor", "legacy"]

    pruned = cli(["roles", "sync", str(roles_file), "--prune", "--yes"], db=db_url)
    assert pruned.exit_code == 0, pruned.stderr
    assert "- legacy (1 permission(s))" in pruned.stdout
    assert [name for name, _ in role_rows(db_url)] == ["auditor", "editor"]
    assert ("role.delete", "legacy") in audit_rows(db_url)


def test_prune_of_a_held_role_is_exit_4_and_the_whole_sync_is_rolled_back(
    cli, db_url, roles_file
) -> None:
    cli(["roles", "create", "legacy"], db=db_url)
    cli(["roles", "create", "editor", "-p", "posts:*"], db=db_url)  # kept: no --prune-all
    create_user(db_url, "ann@example.com")
    cli(["roles", "grant", "legacy", "ann@example.com"], db=db_url)

    refused = cli(["roles", "sync", str(roles_file), "--prune", "--yes"], db=db_url)
    assert refused.exit_code == 4
    assert "legacy (1 user(s))" in refused.stderr
    # One transaction: the creates planned before the refusal did not happen either.
    assert [name for name, _ in role_rows(db_url)] == ["editor", "legacy"]

    forced = cli(["roles", "sync", str(roles_file), "--prune", "--yes", "--force"], db=db_url)
    assert forced.exit_code == 0, forced.stderr
    assert [name for name, _ in role_rows(db_url)] == ["auditor", "editor"]
    assert member_rows(db_url, "legacy") == []


def test_export_then_sync_is_a_no_op(cli, db_url, tmp_path) -> None:
    cli(
        ["roles", "create", "auditor", "-d", "Read: everything 'quoted'", "-p", "roles:read"],
        db=db_url,
    )
    cli(["roles", "create", "root-ish", "-p", "*"], db=db_url)
    cli(["roles", "create", "empty"], db=db_url)
    exported = tmp_path / "exported.yaml"

    wrote = cli(["roles", "export", str(exported)], db=db_url)
    assert wrote.exit_code == 0
    assert wrote.stdout.strip() == f"wrote 3 role(s) to {exported}"
    assert cli(["roles", "export"], db=db_url).stdout == exported.read_text(encoding="utf-8")

    synced = cli(["roles", "sync", str(exported), "--prune"], db=db_url)
    assert synced.exit_code == 0, synced.stderr
    assert synced.stdout.strip() == "nothing to change: the roles already match the file"


def test_export_with_json_prints_the_document_in_the_envelope(cli, db_url, tmp_path) -> None:
    cli(["roles", "create", "auditor", "-p", "roles:read"], db=db_url)
    document = json.loads(cli(["roles", "export", "--json"], db=db_url).stdout)["data"]
    assert document == {
        "version": 1,
        "roles": [{"name": "auditor", "description": "", "permissions": ["roles:read"]}],
    }


def test_sync_with_json_reports_the_plan(cli, db_url, roles_file) -> None:
    outcome = cli(["roles", "sync", str(roles_file), "--json"], db=db_url)
    data = json.loads(outcome.stdout)["data"]
    assert data["applied"] is True
    assert data["dry_run"] is False
    assert [(c["op"], c["role"]) for c in data["changes"]] == [
        ("create", "auditor"),
        ("create", "editor"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("roles: [\n  - name: x\n", "roles.yaml:2: did not find expected node content"),
        (
            "roles:\n  - name: ok\n  - name: Bad Name\n",
            "roles.yaml:3: invalid role name 'Bad Name'",
        ),
        (
            "roles:\n  - name: auditor\n    permissions: [Roles:Read]\n",
            "roles.yaml:2: invalid permission 'Roles:Read'",
        ),
        ("roles:\n  - name: ab\n  - name: ab\n", "roles.yaml:3: role 'ab' appears twice"),
        ("roles:\n  - name: ab\n    perms: [x:y]\n", "roles.yaml:2: roles.0.perms"),
        ("- just a list\n", "expected a mapping"),
    ],
)
def test_a_bad_roles_file_is_exit_5_naming_file_line_and_value(
    cli, db_url, tmp_path, text, expected
) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text(text, encoding="utf-8")
    outcome = cli(["roles", "sync", str(path)], db=db_url)
    assert outcome.exit_code == 5, outcome.stderr
    assert expected in outcome.stderr
    assert role_rows(db_url) == []


def test_sync_of_a_missing_file_is_exit_3(cli, db_url, tmp_path) -> None:
    outcome = cli(["roles", "sync", str(tmp_path / "nope.yaml")], db=db_url)
    assert outcome.exit_code == 3
    assert "no such file" in outcome.stderr


def test_sync_reads_standard_input(cli, db_url) -> None:
    outcome = cli(["roles", "sync", "-"], db=db_url, input=ROLES_YAML)
    assert outcome.exit_code == 0, outcome.stderr
    assert len(role_rows(db_url)) == 2


def test_prune_in_production_without_a_terminal_needs_yes_and_force(
    cli, db_url, roles_file
) -> None:
    cli(["roles", "create", "legacy"], db=db_url)
    cli(["roles", "create", "editor", "-p", "posts:*"], db=db_url)  # kept: no --prune-all
    env = {"ENVIRONMENT": "production"}
    refused = cli(["roles", "sync", str(roles_file), "--prune", "--yes"], db=db_url, env=env)
    assert refused.exit_code == 7
    assert "without a terminal" in refused.stderr
    assert [name for name, _ in role_rows(db_url)] == ["editor", "legacy"]
    done = cli(
        ["roles", "sync", str(roles_file), "--prune", "--yes", "--force"], db=db_url, env=env
    )
    assert done.exit_code == 0, done.stderr
    assert [name for name, _ in role_rows(db_url)] == ["auditor", "editor"]


def test_export_to_a_path_that_cannot_be_written_is_exit_5(cli, db_url, tmp_path) -> None:
    outcome = cli(["roles", "export", str(tmp_path / "missing" / "roles.yaml")], db=db_url)
    assert outcome.exit_code == 5
    assert "cannot write" in outcome.stderr


@pytest.mark.parametrize(
    "document",
    [
        "roles:\n  - {name: newcomer, permissions: [users:read]}\n",
        "roles:\n  - {name: newcomer}\n  - {name: another}\n",
        "roles: []\n",
    ],
    ids=["one_new_role", "two_new_roles", "no_roles"],
)
def test_a_prune_that_removes_every_existing_role_needs_prune_all_whatever_the_file_adds(
    cli, db_url, tmp_path, document
) -> None:
    for name in ("keeper", "other"):
        assert cli(["roles", "create", name], db=db_url).exit_code == 0
    (tmp_path / "roles.yaml").write_text(document, encoding="utf-8")
    refused = cli(["roles", "sync", str(tmp_path / "roles.yaml"), "--prune", "--yes"], db=db_url)
    assert refused.exit_code == 7, refused.stderr
    assert "--prune would remove every existing role (keeper, other)" in refused.stderr
    assert "--prune-all" in refused.stderr
    assert sorted(r for (r,) in fetch(db_url, "SELECT name FROM roles")) == ["keeper", "other"]
    done = cli(
        ["roles", "sync", str(tmp_path / "roles.yaml"), "--prune", "--prune-all", "--yes"],
        db=db_url,
    )
    assert done.exit_code == 0, done.stderr
    names = {r for (r,) in fetch(db_url, "SELECT name FROM roles")}
    assert not names & {"keeper", "other"}


def test_a_prune_that_keeps_one_existing_role_needs_no_prune_all(cli, db_url, tmp_path) -> None:
    for name in ("keeper", "other"):
        assert cli(["roles", "create", name], db=db_url).exit_code == 0
    (tmp_path / "roles.yaml").write_text(
        "roles:\n  - {name: keeper}\n  - {name: newcomer}\n", encoding="utf-8"
    )
    done = cli(["roles", "sync", str(tmp_path / "roles.yaml"), "--prune", "--yes"], db=db_url)
    assert done.exit_code == 0, done.stderr
    assert sorted(r for (r,) in fetch(db_url, "SELECT name FROM roles")) == ["keeper", "newcomer"]
