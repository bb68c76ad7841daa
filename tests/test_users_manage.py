"""Issue 3: every way ops create and manage accounts, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from app.security import verify_password
from tests.conftest import MANAGE_BIN, fetch, manage_env

PASSWORD = "Corr3ct-Horse-Batt3ry"
OTHER = "Sec0nd-Valid-Passw0rd"


def _create_superuser(cli, db_url, email="root@example.com", password=PASSWORD) -> None:
    outcome = cli(
        ["users", "create-superuser", "--email", email, "--password-stdin"],
        input=password + "\n",
        db=db_url,
    )
    assert outcome.exit_code == 0, outcome.stderr


def _create_user(cli, db_url, email="jo@example.com") -> None:
    outcome = cli(
        ["users", "create", "--email", email, "--password-stdin"], input=PASSWORD + "\n", db=db_url
    )
    assert outcome.exit_code == 0, outcome.stderr


def _row(db_url, email):
    rows = fetch(
        db_url,
        "SELECT is_superuser, is_active, hashed_password FROM users WHERE email = :e",
        {"e": email},
    )
    return (bool(rows[0][0]), bool(rows[0][1]), rows[0][2]) if rows else None


def _data(outcome) -> dict:
    document = json.loads(outcome.stdout)
    assert document["success"] is True, document
    return document["data"]


# --- --if-exists ---------------------------------------------------------------------------


def test_if_exists_skip_exits_0_and_changes_nothing(cli, db_url) -> None:
    _create_user(cli, db_url)
    before = _row(db_url, "jo@example.com")
    outcome = cli(
        [
            "users",
            "create-superuser",
            "--email",
            "JO@example.com",
            "--password-stdin",
            "--if-exists",
            "skip",
            "--json",
        ],
        input=OTHER + "\n",
        db=db_url,
    )
    assert outcome.exit_code == 0
    assert _data(outcome)["outcome"] == "unchanged"
    assert _row(db_url, "jo@example.com") == before


def test_if_exists_update_promotes_reactivates_and_sets_the_password(cli, db_url) -> None:
    _create_superuser(cli, db_url)
    _create_user(cli, db_url)
    assert cli(["users", "deactivate", "jo@example.com"], db=db_url).exit_code == 0
    outcome = cli(
        [
            "users",
            "create-superuser",
            "--email",
            "jo@example.com",
            "--password-stdin",
            "--if-exists",
            "update",
        ],
        input=OTHER + "\n",
        db=db_url,
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert "updated jo@example.com" in outcome.stdout
    superuser, active, hashed = _row(db_url, "jo@example.com")
    assert (superuser, active) == (True, True)
    assert verify_password(OTHER, hashed)


def test_if_exists_update_still_applies_the_policy(cli, db_url) -> None:
    _create_user(cli, db_url)
    before = _row(db_url, "jo@example.com")
    outcome = cli(
        [
            "users",
            "create-superuser",
            "--email",
            "jo@example.com",
            "--password-stdin",
            "--if-exists",
            "update",
        ],
        input="password1234\n",
        db=db_url,
    )
    assert outcome.exit_code == 5
    assert _row(db_url, "jo@example.com") == before


# --- password sources, as real processes ---------------------------------------------------


def test_each_password_source_works_as_a_subprocess(manage_proc, db_url, tmp_path) -> None:
    secret = tmp_path / "admin_password"
    secret.write_text(PASSWORD + "\n")
    runs = {
        "stdin": manage_proc(
            ["users", "create-superuser", "--email", "a@example.com", "--password-stdin"],
            input=PASSWORD + "\n",
            db=db_url,
        ),
        "file": manage_proc(
            [
                "users",
                "create-superuser",
                "--email",
                "b@example.com",
                "--password-file",
                str(secret),
            ],
            db=db_url,
        ),
        "env": manage_proc(
            ["users", "create-superuser", "--email", "c@example.com"],
            db=db_url,
            env={"MANAGE_PASSWORD": PASSWORD},
        ),
        "generate": manage_proc(
            ["users", "create-superuser", "--email", "d@example.com", "--generate-password"],
            db=db_url,
        ),
    }
    assert {name: run.exit_code for name, run in runs.items()} == dict.fromkeys(runs, 0)
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        assert verify_password(PASSWORD, _row(db_url, email)[2])
    shown = re.findall(
        r"generated password \(shown once; store it now\): (\S+)", runs["generate"].stdout
    )
    assert len(shown) == 1
    assert verify_password(shown[0], _row(db_url, "d@example.com")[2])
    assert shown[0] not in runs["generate"].stderr


def test_generate_password_with_json_is_refused(cli, db_url) -> None:
    outcome = cli(
        ["users", "create-superuser", "--email", "a@example.com", "--generate-password", "--json"],
        db=db_url,
    )
    assert outcome.exit_code == 5
    assert json.loads(outcome.stdout)["error_code"] == "INVALID_INPUT"
    assert _row(db_url, "a@example.com") is None


def test_two_password_sources_are_refused(cli, db_url, tmp_path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD)
    outcome = cli(
        [
            "users",
            "create-superuser",
            "--email",
            "a@example.com",
            "--password-stdin",
            "--password-file",
            str(secret),
        ],
        input=PASSWORD + "\n",
        db=db_url,
    )
    assert outcome.exit_code == 5
    assert "one password source" in outcome.stderr


def test_unreadable_password_file_is_exit_5(cli, db_url, tmp_path) -> None:
    outcome = cli(
        [
            "users",
            "create-superuser",
            "--email",
            "a@example.com",
            "--password-file",
            str(tmp_path / "missing"),
        ],
        db=db_url,
    )
    assert outcome.exit_code == 5
    assert "cannot use --password-file" in outcome.stderr
    assert "No such file or directory" in outcome.stderr


def test_password_never_leaks_anywhere(manage_proc, db_url, tmp_path) -> None:
    """Greps argv, stdout, stderr (with --verbose tracebacks), JSON and the audit log."""
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD)
    argvs = [
        [
            "--verbose",
            "users",
            "create-superuser",
            "--email",
            "ops@example.com",
            "--password-file",
            str(secret),
            "--json",
        ],
        [
            "--verbose",
            "users",
            "create-superuser",
            "--email",
            "ops@example.com",
            "--password-file",
            str(secret),
        ],
        ["--verbose", "users", "set-password", "ops@example.com", "--password-stdin", "--json"],
        ["--verbose", "users", "set-password", "nobody@example.com", "--password-stdin"],
        ["--verbose", "users", "create", "--email", "weak@example.com", "--password-stdin"],
    ]
    inputs = [None, None, OTHER + "\n", OTHER + "\n", "password1234\n"]
    runs = [
        manage_proc(argv, input=text, db=db_url) for argv, text in zip(argvs, inputs, strict=True)
    ]
    assert [run.exit_code for run in runs] == [0, 4, 0, 3, 5]
    for argv, run in zip(argvs, runs, strict=True):
        for secret_text in (PASSWORD, OTHER, "password1234"):
            assert secret_text not in " ".join(argv)
            assert secret_text not in run.stdout
            assert secret_text not in run.stderr
    audit = str(fetch(db_url, "SELECT actor, action, target, details FROM audit_log"))
    assert PASSWORD not in audit and OTHER not in audit and "$argon2" not in audit


def test_concurrent_create_superuser_on_postgres_makes_exactly_one(pg_db_url) -> None:
    args = [
        str(MANAGE_BIN),
        "users",
        "create-superuser",
        "--email",
        "race@example.com",
        "--password-stdin",
    ]
    procs = [
        subprocess.Popen(
            args,
            env=manage_env(pg_db_url),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    results = [proc.communicate(PASSWORD + "\n", timeout=120) for proc in procs]
    codes = sorted(proc.returncode for proc in procs)
    assert codes == [0] + [4] * 7, results
    for _, stderr in results:
        assert "Traceback" not in stderr
    assert fetch(pg_db_url, "SELECT count(*) FROM users WHERE email = 'race@example.com'") == [(1,)]


# --- single-account commands ---------------------------------------------------------------


def test_show_set_password_activate_promote_and_their_json(cli, db_url) -> None:
    _create_superuser(cli, db_url)
    _create_user(cli, db_url)
    shown = _data(cli(["users", "show", "JO@example.com", "--json"], db=db_url))
    assert (shown["email"], shown["is_superuser"], shown["roles"]) == ("jo@example.com", False, [])
    changed = cli(
        ["users", "set-password", "jo@example.com", "--password-stdin", "--json"],
        input=OTHER + "\n",
        db=db_url,
    )
    assert _data(changed)["email"] == "jo@example.com"
    assert verify_password(OTHER, _row(db_url, "jo@example.com")[2])
    assert (
        _data(cli(["users", "deactivate", "jo@example.com", "--json"], db=db_url))["is_active"]
        is False
    )
    assert (
        _data(cli(["users", "activate", "jo@example.com", "--json"], db=db_url))["is_active"]
        is True
    )
    assert (
        _data(cli(["users", "promote", "jo@example.com", "--json"], db=db_url))["is_superuser"]
        is True
    )
    assert (
        _data(cli(["users", "demote", "jo@example.com", "--json"], db=db_url))["is_superuser"]
        is False
    )
    deleted = cli(["users", "delete", "jo@example.com", "--yes", "--json"], db=db_url)
    assert _data(deleted)["email"] == "jo@example.com"
    assert _row(db_url, "jo@example.com") is None
    actions = [a for (a,) in fetch(db_url, "SELECT action FROM audit_log ORDER BY id")]
    assert actions == [
        "user.create",
        "user.create",
        "user.set_password",
        "user.deactivate",
        "user.activate",
        "user.promote",
        "user.demote",
        "user.delete",
    ]


@pytest.mark.parametrize(
    "command",
    [
        ["show"],
        ["set-password", "--password-stdin"],
        ["activate"],
        ["deactivate"],
        ["promote"],
        ["demote"],
        ["delete", "--yes"],
    ],
)
def test_unknown_email_is_exit_3(cli, db_url, command) -> None:
    outcome = cli(
        ["users", command[0], "ghost@example.com", *command[1:], "--json"],
        input=OTHER + "\n",
        db=db_url,
    )
    assert outcome.exit_code == 3
    assert json.loads(outcome.stdout)["error_code"] == "USER_NOT_FOUND"


@pytest.mark.parametrize("command", [["delete", "--yes"], ["demote"], ["deactivate"]])
def test_last_active_superuser_cannot_be_removed(cli, db_url, command) -> None:
    _create_superuser(cli, db_url)
    outcome = cli(["users", command[0], "root@example.com", *command[1:]], db=db_url)
    assert outcome.exit_code == 4
    assert "last active superuser" in outcome.stderr
    assert _row(db_url, "root@example.com")[:2] == (True, True)


def test_a_superuser_can_go_when_another_active_one_remains(cli, db_url) -> None:
    _create_superuser(cli, db_url)
    _create_superuser(cli, db_url, email="second@example.com")
    assert cli(["users", "demote", "root@example.com"], db=db_url).exit_code == 0
    assert cli(["users", "demote", "second@example.com"], db=db_url).exit_code == 4


def test_an_inactive_superuser_does_not_count_as_remaining(cli, db_url) -> None:
    _create_superuser(cli, db_url)
    _create_superuser(cli, db_url, email="second@example.com")
    assert cli(["users", "deactivate", "second@example.com"], db=db_url).exit_code == 0
    assert cli(["users", "delete", "root@example.com", "--yes"], db=db_url).exit_code == 4


def test_delete_without_yes_and_without_a_terminal_is_refused(cli, db_url) -> None:
    _create_user(cli, db_url)
    outcome = cli(["users", "delete", "jo@example.com"], db=db_url)
    assert outcome.exit_code == 7
    assert "--yes" in outcome.stderr
    assert _row(db_url, "jo@example.com") is not None


def test_delete_in_production_needs_force_without_a_terminal(cli, db_url) -> None:
    _create_user(cli, db_url)
    production = {"ENVIRONMENT": "production"}
    refused = cli(["users", "delete", "jo@example.com", "--yes"], db=db_url, env=production)
    assert refused.exit_code == 7
    assert "--force" in refused.stderr
    assert _row(db_url, "jo@example.com") is not None
    done = cli(["users", "delete", "jo@example.com", "--yes", "--force"], db=db_url, env=production)
    assert done.exit_code == 0
    assert _row(db_url, "jo@example.com") is None


def test_create_plain_user_and_duplicate(cli, db_url) -> None:
    created = cli(
        [
            "users",
            "create",
            "--email",
            "Jo@Example.com",
            "--full-name",
            "Jo",
            "--password-stdin",
            "--json",
        ],
        input=PASSWORD + "\n",
        db=db_url,
    )
    user = _data(created)
    assert (user["email"], user["is_superuser"], user["full_name"]) == (
        "jo@example.com",
        False,
        "Jo",
    )
    again = cli(
        ["users", "create", "--email", "jo@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        db=db_url,
    )
    assert again.exit_code == 4


# --- audit -----------------------------------------------------------------------------------


def test_audit_list_filters_and_json(cli, db_url) -> None:
    _create_superuser(cli, db_url)
    _create_user(cli, db_url)
    cli(["users", "promote", "jo@example.com"], db=db_url, env={"MANAGE_ACTOR": "alice"})
    entries = _data(cli(["audit", "list", "--json"], db=db_url))
    assert [e["action"] for e in entries] == ["user.promote", "user.create", "user.create"]
    assert entries[0]["actor"] == "alice"
    assert entries[0]["details"] == {"is_superuser": True}
    only = _data(
        cli(
            ["audit", "list", "--action", "user.create", "--target", "JO@example.com", "--json"],
            db=db_url,
        )
    )
    assert [(e["action"], e["target"]) for e in only] == [("user.create", "jo@example.com")]
    assert len(_data(cli(["audit", "list", "--limit", "1", "--json"], db=db_url))) == 1
    table = cli(["audit", "list"], db=db_url)
    assert table.exit_code == 0 and "user.promote" in table.stdout


# --- interactive, through a pseudo-terminal ------------------------------------------------


def _spawn(db_url, *args):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        str(MANAGE_BIN),
        ["users", "create-superuser", *args],
        env=manage_env(db_url),
        encoding="utf-8",
        timeout=30,
    )
    return pexpect, child


def test_interactive_flow_asks_explains_and_confirms(db_url) -> None:
    pexpect, child = _spawn(db_url)
    child.expect("Email: ")
    child.sendline("Term@Example.com")
    child.expect("Full name")
    child.sendline("Terminal User")
    child.expect("Password: ")
    child.sendline("password1234")  # too common: explained, asked again
    child.expect("too common; try another")
    child.expect("Password: ")
    child.sendline(PASSWORD)
    child.expect(r"Password \(again\): ")
    child.sendline(PASSWORD + "-typo")  # mismatch: asked again from the start
    child.expect("do not match")
    child.expect("Password: ")
    child.sendline(PASSWORD)
    child.expect(r"Password \(again\): ")
    child.sendline(PASSWORD)
    child.expect("created superuser term@example.com")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert PASSWORD not in child.before
    assert verify_password(PASSWORD, _row(db_url, "term@example.com")[2])
    [(name,)] = fetch(db_url, "SELECT full_name FROM users")
    assert name == "Terminal User"


def test_ctrl_c_at_the_prompt_exits_130_and_writes_nothing(db_url) -> None:
    pexpect, child = _spawn(db_url, "--email", "term@example.com")
    child.expect("Password: ")
    time.sleep(0.2)
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "interrupted" in child.before
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]


# --- roles on accounts (issue 4's pieces of the users group) -------------------------------


def test_create_with_roles_grants_them_in_the_same_transaction(cli, db_url) -> None:
    cli(["roles", "create", "auditor", "--permission", "roles:read"], db=db_url)
    cli(["roles", "create", "editor", "--permission", "posts:*"], db=db_url)
    created = cli(
        [
            "users",
            "create",
            "--email",
            "ann@example.com",
            "--role",
            "auditor",
            "-r",
            "editor",
            "--password-stdin",
            "--json",
        ],
        input=PASSWORD + "\n",
        db=db_url,
    )
    assert _data(created)["roles"] == ["auditor", "editor"]
    permissions = _data(cli(["users", "permissions", "ann@example.com", "--json"], db=db_url))
    assert {p["permission"]: p["granted_by"] for p in permissions["permissions"]} == {
        "posts:*": ["editor"],
        "roles:read": ["auditor"],
    }


def test_create_with_an_unknown_role_is_exit_3_and_leaves_no_account(cli, db_url) -> None:
    outcome = cli(
        ["users", "create", "--email", "bob@example.com", "--role", "ghost", "--password-stdin"],
        input=PASSWORD + "\n",
        db=db_url,
    )
    assert outcome.exit_code == 3
    assert "ghost" in outcome.stderr
    assert _row(db_url, "bob@example.com") is None


def test_permissions_of_a_superuser_and_of_nobody(cli, db_url) -> None:
    _create_superuser(cli, db_url)
    table = cli(["users", "permissions", "root@example.com"], db=db_url)
    assert table.exit_code == 0 and "superuser" in table.stdout
    assert cli(["users", "permissions", "ghost@example.com"], db=db_url).exit_code == 3


def test_an_empty_password_file_is_exit_5_everywhere(cli, db_url, blank_db_url, tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    by_option = cli(
        ["users", "create", "--email", "a@example.com", "--password-file", str(empty)], db=db_url
    )
    by_init = cli(
        ["db", "init"],
        db=blank_db_url,
        env={
            "FIRST_SUPERUSER_EMAIL": "ops@example.com",
            "FIRST_SUPERUSER_PASSWORD_FILE": str(empty),
        },
    )
    assert (by_option.exit_code, by_init.exit_code) == (5, 5)
    assert "it is empty" in by_option.stderr and "it is empty" in by_init.stderr
