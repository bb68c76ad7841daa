"""`manage roles`: create, list, show, delete, grant, revoke, permit, forbid; on both backends."""

from __future__ import annotations

import json

import pytest
import typer

from tests.conftest import fetch
from tests.roles_support import (
    audit_rows,
    create_user,
    member_rows,
    permission_rows,
    role_rows,
)


def test_create_stores_the_role_its_permissions_and_an_audit_row(cli, db_url) -> None:
    outcome = cli(
        ["roles", "create", "auditor", "-d", "Read-only", "-p", "roles:read", "-p", "audit:*"],
        db=db_url,
        env={"MANAGE_ACTOR": "ops-bot"},
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.strip() == "created role auditor with 2 permission(s)"
    assert role_rows(db_url) == [("auditor", "Read-only")]
    assert permission_rows(db_url, "auditor") == ["audit:*", "roles:read"]
    assert audit_rows(db_url) == [("role.create", "auditor")]


def test_create_with_json_prints_the_role_in_the_envelope(cli, db_url) -> None:
    outcome = cli(["roles", "create", "auditor", "-p", "roles:read", "--json"], db=db_url)
    document = json.loads(outcome.stdout)
    assert document["success"] is True
    assert document["error_code"] is None
    data = document["data"]
    assert {k: data[k] for k in ("name", "description", "permissions", "member_count")} == {
        "name": "auditor",
        "description": "",
        "permissions": ["roles:read"],
        "member_count": 0,
    }


def test_create_twice_is_exit_4_and_keeps_one_role(cli, db_url) -> None:
    assert cli(["roles", "create", "auditor"], db=db_url).exit_code == 0
    again = cli(["roles", "create", "auditor", "-p", "users:read"], db=db_url)
    assert again.exit_code == 4
    assert again.stderr.strip() == "error: role auditor already exists"
    assert role_rows(db_url) == [("auditor", "")]
    assert permission_rows(db_url, "auditor") == []


@pytest.mark.parametrize("name", ["Auditor", "a", "1st-line", "has space"])
def test_invalid_role_name_is_exit_5_naming_it_and_writes_nothing(cli, db_url, name) -> None:
    outcome = cli(["roles", "create", name, "--json"], db=db_url)
    assert outcome.exit_code == 5
    assert f"invalid role name {name!r}" in outcome.stderr
    assert json.loads(outcome.stdout)["error_code"] == "INVALID_ROLE_NAME"
    assert role_rows(db_url) == []


@pytest.mark.parametrize("permission", ["Roles:Read", "roles", "*:read"])
def test_invalid_permission_is_exit_5_naming_it_and_writes_nothing(cli, db_url, permission) -> None:
    outcome = cli(["roles", "create", "auditor", "-p", "roles:read", "-p", permission], db=db_url)
    assert outcome.exit_code == 5
    assert f"invalid permission {permission!r}" in outcome.stderr
    assert role_rows(db_url) == []


def test_list_and_show_report_permissions_and_member_counts(cli, db_url) -> None:
    cli(["roles", "create", "auditor", "-p", "roles:read"], db=db_url)
    cli(["roles", "create", "editor", "-d", "Edits posts", "-p", "posts:*"], db=db_url)
    create_user(db_url, "ann@example.com")
    create_user(db_url, "bob@example.com")
    cli(["roles", "grant", "auditor", "ann@example.com", "bob@example.com"], db=db_url)

    listed = cli(["roles", "list", "--json"], db=db_url)
    roles = json.loads(listed.stdout)["data"]
    assert [(r["name"], r["permissions"], r["member_count"]) for r in roles] == [
        ("auditor", ["roles:read"], 2),
        ("editor", ["posts:*"], 0),
    ]
    table = cli(["roles", "list"], db=db_url).stdout
    assert "auditor" in table and "posts:*" in table

    shown = cli(["roles", "show", "auditor"], db=db_url)
    assert shown.exit_code == 0
    assert "roles:read" in shown.stdout
    assert "members" in shown.stdout and "2" in shown.stdout


def test_show_or_grant_an_unknown_role_is_exit_3(cli, db_url) -> None:
    create_user(db_url, "ann@example.com")
    shown = cli(["roles", "show", "ghost", "--json"], db=db_url)
    assert shown.exit_code == 3
    assert json.loads(shown.stdout)["error_code"] == "ROLE_NOT_FOUND"
    assert cli(["roles", "grant", "ghost", "ann@example.com"], db=db_url).exit_code == 3


def test_grant_and_revoke_change_membership_and_are_audited(cli, db_url) -> None:
    cli(["roles", "create", "auditor"], db=db_url)
    create_user(db_url, "ann@example.com")
    create_user(db_url, "bob@example.com")

    granted = cli(["roles", "grant", "auditor", "ANN@example.com", "bob@example.com"], db=db_url)
    assert granted.exit_code == 0, granted.stderr
    assert "granted auditor to ann@example.com, bob@example.com" in granted.stdout
    assert member_rows(db_url, "auditor") == ["ann@example.com", "bob@example.com"]

    again = cli(["roles", "grant", "auditor", "ann@example.com", "--json"], db=db_url)
    assert json.loads(again.stdout)["data"] == {
        "role": "auditor",
        "action": "grant",
        "changed": [],
        "unchanged": ["ann@example.com"],
    }

    revoked = cli(["roles", "revoke", "auditor", "bob@example.com"], db=db_url)
    assert revoked.exit_code == 0
    assert member_rows(db_url, "auditor") == ["ann@example.com"]
    assert audit_rows(db_url) == [
        ("role.create", "auditor"),
        ("role.grant", "ann@example.com"),
        ("role.grant", "bob@example.com"),
        ("role.revoke", "bob@example.com"),
    ]


def test_grant_to_an_unknown_user_is_exit_3_and_grants_nobody(cli, db_url) -> None:
    cli(["roles", "create", "auditor"], db=db_url)
    create_user(db_url, "ann@example.com")
    outcome = cli(["roles", "grant", "auditor", "ann@example.com", "ghost@example.com"], db=db_url)
    assert outcome.exit_code == 3
    assert "user ghost@example.com not found" in outcome.stderr
    assert member_rows(db_url, "auditor") == []
    two = cli(["roles", "grant", "auditor", "ghost@example.com", "nobody@example.com"], db=db_url)
    assert two.exit_code == 3
    assert two.stderr.splitlines()[0] == (
        "error: users ghost@example.com, nobody@example.com not found"
    )


def test_permit_and_forbid_edit_permissions_and_report_no_ops(cli, db_url) -> None:
    cli(["roles", "create", "auditor", "-p", "roles:read"], db=db_url)
    permitted = cli(["roles", "permit", "auditor", "audit:*", "roles:read"], db=db_url)
    assert permitted.exit_code == 0
    assert "auditor now has audit:*" in permitted.stdout
    assert "unchanged: roles:read" in permitted.stdout
    assert permission_rows(db_url, "auditor") == ["audit:*", "roles:read"]

    forbidden = cli(["roles", "forbid", "auditor", "roles:read", "--json"], db=db_url)
    assert json.loads(forbidden.stdout)["data"]["changed"] == ["roles:read"]
    assert permission_rows(db_url, "auditor") == ["audit:*"]
    assert [a for a, _ in audit_rows(db_url)] == ["role.create", "role.permit", "role.forbid"]

    bad = cli(["roles", "permit", "auditor", "users:Read"], db=db_url)
    assert bad.exit_code == 5
    assert "'users:Read'" in bad.stderr


def test_delete_without_yes_and_without_a_terminal_is_refused_exit_7(cli, db_url) -> None:
    cli(["roles", "create", "auditor"], db=db_url)
    outcome = cli(["roles", "delete", "auditor"], db=db_url)
    assert outcome.exit_code == 7
    assert "without --yes" in outcome.stderr
    assert role_rows(db_url) == [("auditor", "")]


def test_delete_with_yes_removes_the_role_and_its_permissions(cli, db_url) -> None:
    cli(["roles", "create", "auditor", "-p", "roles:read"], db=db_url)
    outcome = cli(["roles", "delete", "auditor", "--yes"], db=db_url)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.strip() == "deleted role auditor"
    assert role_rows(db_url) == []
    assert permission_rows(db_url, "auditor") == []
    assert audit_rows(db_url)[-1] == ("role.delete", "auditor")


def test_delete_a_role_with_members_is_exit_4_unless_force(cli, db_url) -> None:
    cli(["roles", "create", "auditor"], db=db_url)
    create_user(db_url, "ann@example.com")
    cli(["roles", "grant", "auditor", "ann@example.com"], db=db_url)

    refused = cli(["roles", "delete", "auditor", "--yes"], db=db_url)
    assert refused.exit_code == 4
    assert "held by 1 user(s)" in refused.stderr
    assert member_rows(db_url, "auditor") == ["ann@example.com"]

    forced = cli(["roles", "delete", "auditor", "--yes", "--force"], db=db_url)
    assert forced.exit_code == 0, forced.stderr
    assert "1 user(s) lost it" in forced.stdout
    assert role_rows(db_url) == []
    assert fetch_count(db_url, "user_roles") == 0
    [(details,)] = fetch(db_url, "SELECT details FROM audit_log WHERE action = 'role.delete'")
    details = json.loads(details) if isinstance(details, str) else details
    assert details == {"members_removed": ["ann@example.com"], "permissions": []}


def test_delete_an_unknown_role_is_exit_3(cli, db_url) -> None:
    assert cli(["roles", "delete", "ghost", "--yes"], db=db_url).exit_code == 3


def test_delete_in_production_needs_yes_and_force_without_a_terminal(cli, db_url) -> None:
    cli(["roles", "create", "auditor"], db=db_url)
    env = {"ENVIRONMENT": "production"}
    assert cli(["roles", "delete", "auditor", "--yes"], db=db_url, env=env).exit_code == 7
    assert role_rows(db_url) == [("auditor", "")]
    ok = cli(["roles", "delete", "auditor", "--yes", "--force"], db=db_url, env=env)
    assert ok.exit_code == 0
    assert role_rows(db_url) == []


def fetch_count(db_url: str, table: str) -> int:
    return fetch(db_url, f"SELECT count(*) FROM {table}")[0][0]


# `users permissions EMAIL` is wired into the users group by commands/users.py; here the
# command function runs on its own so this file does not depend on that wiring.
@pytest.fixture
def permissions_cli(cli):
    from typer.testing import CliRunner

    from commands.roles import user_permissions_command

    app = typer.Typer()
    app.command("permissions")(user_permissions_command)
    app.command("unused", hidden=True)(lambda: None)  # keep "permissions" a sub-command
    runner = CliRunner()

    def invoke(args: list[str], db: str):
        from app.config import get_settings

        get_settings.cache_clear()
        return runner.invoke(app, ["permissions", *args], env={"DATABASE_URL": db})

    return invoke


def test_user_permissions_lists_each_permission_and_where_it_comes_from(
    cli, db_url, permissions_cli
) -> None:
    cli(["roles", "create", "auditor", "-p", "roles:read", "-p", "audit:read"], db=db_url)
    cli(["roles", "create", "support", "-p", "roles:read", "-p", "users:*"], db=db_url)
    create_user(db_url, "ann@example.com")
    cli(["roles", "grant", "auditor", "ann@example.com"], db=db_url)
    cli(["roles", "grant", "support", "ann@example.com"], db=db_url)

    result = permissions_cli(["ann@example.com", "--json"], db_url)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    assert data["roles"] == ["auditor", "support"]
    assert data["permissions"] == [
        {"permission": "audit:read", "granted_by": ["auditor"]},
        {"permission": "roles:read", "granted_by": ["auditor", "support"]},
        {"permission": "users:*", "granted_by": ["support"]},
    ]
    table = permissions_cli(["ann@example.com"], db_url).stdout
    assert "auditor, support" in table


def test_a_superuser_holds_every_permission(cli, db_url, permissions_cli) -> None:
    create_user(db_url, "root@example.com", superuser=True)
    data = json.loads(permissions_cli(["root@example.com", "--json"], db_url).stdout)["data"]
    assert data["is_superuser"] is True
    assert data["permissions"] == [{"permission": "*", "granted_by": ["superuser"]}]


def test_user_permissions_of_an_unknown_user_is_exit_3(db_url, permissions_cli) -> None:
    assert permissions_cli(["ghost@example.com"], db_url).exit_code == 3


# What `users create --role ROLE` does: create the account and grant the role in one
# transaction, through the services, so an unknown role leaves no account behind.
async def _create_with_role(db_url: str, email: str, role: str) -> list[str]:
    from pydantic import SecretStr

    from app.schemas.user import UserCreate, UserRead
    from app.services import roles, users
    from db.config import DatabaseSettings
    from db.engine import create_engine, session_factory
    from tests.roles_support import PASSWORD

    engine = create_engine(DatabaseSettings(database_url=db_url), pooled=False)
    try:
        async with session_factory(engine)() as db:
            try:
                data = UserCreate(email=email, password=SecretStr(PASSWORD))
                user = await users.create_user(db, data=data, actor="test")
                await roles.grant(db, role=role, emails=[user.email], actor="test")
                shown = UserRead.model_validate(user).roles
                await db.commit()
                return shown
            except BaseException:
                await db.rollback()
                raise
    finally:
        await engine.dispose()


def test_create_user_with_a_role_in_one_transaction(cli, db_url) -> None:
    from app.errors import AppException
    from tests.conftest import run_async

    cli(["roles", "create", "auditor", "-p", "roles:read"], db=db_url)
    assert run_async(_create_with_role(db_url, "ann@example.com", "auditor")) == ["auditor"]
    assert member_rows(db_url, "auditor") == ["ann@example.com"]

    with pytest.raises(AppException) as caught:
        run_async(_create_with_role(db_url, "bob@example.com", "ghost"))
    assert caught.value.status == 404
    assert fetch(db_url, "SELECT email FROM users WHERE email = 'bob@example.com'") == []


def _spawn_roles(db_url: str, *args: str):
    pexpect = pytest.importorskip("pexpect")
    from tests.conftest import MANAGE_BIN, manage_env

    child = pexpect.spawn(
        str(MANAGE_BIN), ["roles", *args], env=manage_env(db_url), encoding="utf-8", timeout=30
    )
    return pexpect, child


@pytest.mark.parametrize(("answer", "exit_code", "left"), [("y", 0, []), ("n", 7, ["auditor"])])
def test_delete_on_a_terminal_asks_first(cli, db_url, answer, exit_code, left) -> None:
    cli(["roles", "create", "auditor"], db=db_url)
    pexpect, child = _spawn_roles(db_url, "delete", "auditor")
    child.expect(r"Delete role auditor\? \[y/N\]")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == exit_code
    assert [name for name, _ in role_rows(db_url)] == left
