"""`manage users`: create-superuser and list, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tests.conftest import fetch

PASSWORD = "Corr3ct-Horse-Batt3ry"


def _users(db_url: str) -> list[tuple]:
    return fetch(db_url, "SELECT email, is_superuser, is_active FROM users ORDER BY id")


def test_create_superuser_stores_one_lowercased_active_superuser(cli, db_url) -> None:
    outcome = cli(
        ["users", "create-superuser", "--email", "Ops@Example.COM", "--password-stdin"],
        input=PASSWORD + "\n",
        db=db_url,
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert "created superuser ops@example.com" in outcome.stdout
    assert [(e, bool(s), bool(a)) for e, s, a in _users(db_url)] == [
        ("ops@example.com", True, True)
    ]


def test_stored_hash_is_argon2_and_verifies(cli, db_url) -> None:
    from app.security import verify_password

    cli(
        ["users", "create-superuser", "--email", "ops@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        db=db_url,
    )
    [(hashed,)] = fetch(db_url, "SELECT hashed_password FROM users")
    assert hashed.startswith("$argon2id$")
    assert verify_password(PASSWORD, hashed)
    assert not verify_password(PASSWORD + "x", hashed)


@pytest.mark.parametrize("second", ["ops@example.com", "OPS@EXAMPLE.COM", "Ops@example.com"])
def test_create_superuser_twice_exits_4_and_keeps_one_row(cli, db_url, second) -> None:
    first = cli(
        ["users", "create-superuser", "--email", "ops@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        db=db_url,
    )
    assert first.exit_code == 0
    again = cli(
        ["users", "create-superuser", "--email", second, "--password-stdin"],
        input="An0ther-password!\n",
        db=db_url,
    )
    assert again.exit_code == 4
    assert again.stderr.strip() == "error: user ops@example.com already exists"
    assert len(_users(db_url)) == 1
    assert len(fetch(db_url, "SELECT id FROM audit_log WHERE action = 'user.create'")) == 1


def test_create_superuser_writes_an_audit_row_without_secrets(cli, db_url) -> None:
    cli(
        ["users", "create-superuser", "--email", "ops@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        db=db_url,
        env={"MANAGE_ACTOR": "deploy-bot"},
    )
    rows = fetch(db_url, "SELECT actor, action, target, details FROM audit_log")
    assert [(a, act, t) for a, act, t, _ in rows] == [
        ("deploy-bot", "user.create", "ops@example.com")
    ]
    assert PASSWORD not in str(rows)
    assert "argon2" not in str(rows)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "too short"),
        ("12345678901234", "entirely numeric"),
        ("password1234", "too common"),
        ("ops@example.com", "same as the email"),
    ],
)
def test_weak_password_is_exit_5_naming_the_rule_and_writes_nothing(
    cli, db_url, password, reason
) -> None:
    outcome = cli(
        ["users", "create-superuser", "--email", "ops@example.com", "--password-stdin"],
        input=password + "\n",
        db=db_url,
    )
    assert outcome.exit_code == 5
    assert reason in outcome.stderr
    assert password not in outcome.stderr + outcome.stdout
    assert _users(db_url) == []


def test_invalid_email_is_exit_5_naming_the_field(cli, db_url) -> None:
    outcome = cli(
        ["users", "create-superuser", "--email", "not-an-email", "--password-stdin"],
        input=PASSWORD + "\n",
        db=db_url,
    )
    assert outcome.exit_code == 5
    assert outcome.stderr.startswith("error: email:")
    assert _users(db_url) == []


def test_no_password_source_without_a_terminal_is_exit_5_at_once(manage_proc, db_url) -> None:
    outcome = manage_proc(
        ["users", "create-superuser", "--email", "ops@example.com"], db=db_url, input="", timeout=30
    )
    assert outcome.exit_code == 5
    assert "no password source" in outcome.stderr
    assert _users(db_url) == []


def test_there_is_no_password_option(cli, db_url) -> None:
    outcome = cli(
        ["users", "create-superuser", "--email", "ops@example.com", "--password", PASSWORD],
        db=db_url,
    )
    assert outcome.exit_code == 2
    assert _users(db_url) == []


def test_password_file_and_environment_sources_work(cli, db_url, tmp_path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    by_file = cli(
        ["users", "create-superuser", "--email", "a@example.com", "--password-file", str(secret)],
        db=db_url,
    )
    by_env = cli(
        ["users", "create-superuser", "--email", "b@example.com"],
        db=db_url,
        env={"MANAGE_PASSWORD": PASSWORD},
    )
    assert (by_file.exit_code, by_env.exit_code) == (0, 0)
    from app.security import verify_password

    hashes = [h for (h,) in fetch(db_url, "SELECT hashed_password FROM users ORDER BY id")]
    assert [verify_password(PASSWORD, h) for h in hashes] == [True, True]


def test_create_superuser_json_success_and_error_envelopes(cli, db_url) -> None:
    args = ["users", "create-superuser", "--email", "ops@example.com", "--password-stdin", "--json"]
    created = json.loads(cli(args, input=PASSWORD + "\n", db=db_url).stdout)
    assert created["success"] is True
    assert created["error_code"] is None and created["message"] is None
    assert created["data"]["outcome"] == "created"
    user = created["data"]["user"]
    assert user["email"] == "ops@example.com" and user["is_superuser"] is True
    assert set(user) == {
        "id",
        "email",
        "full_name",
        "is_active",
        "is_superuser",
        "roles",
        "created_at",
        "updated_at",
    }
    duplicate = cli(args, input=PASSWORD + "\n", db=db_url)
    assert duplicate.exit_code == 4
    assert json.loads(duplicate.stdout) == {
        "success": False,
        "data": None,
        "message": "user ops@example.com already exists",
        "error_code": "USER_EXISTS",
    }


def test_users_list_filters_and_json(cli, db_url) -> None:
    for email in ("root@example.com", "second@example.com"):
        cli(
            ["users", "create-superuser", "--email", email, "--password-stdin"],
            input=PASSWORD + "\n",
            db=db_url,
        )
    fetch(
        db_url,
        "UPDATE users SET is_superuser = false, full_name = 'Jo Second' "
        "WHERE email = 'second@example.com'",
    )
    listed = json.loads(cli(["users", "list", "--json"], db=db_url).stdout)
    assert [u["email"] for u in listed["data"]] == ["root@example.com", "second@example.com"]
    supers = json.loads(cli(["users", "list", "--superusers", "--json"], db=db_url).stdout)
    assert [u["email"] for u in supers["data"]] == ["root@example.com"]
    found = json.loads(cli(["users", "list", "--search", "jo sec", "--json"], db=db_url).stdout)
    assert [u["email"] for u in found["data"]] == ["second@example.com"]
    limited = json.loads(cli(["users", "list", "--limit", "1", "--json"], db=db_url).stdout)
    assert len(limited["data"]) == 1
    table = cli(["users", "list"], db=db_url)
    assert table.exit_code == 0
    assert "root@example.com" in table.stdout and "second@example.com" in table.stdout


def test_users_list_on_an_empty_database_says_so(cli, db_url) -> None:
    outcome = cli(["users", "list"], db=db_url)
    assert (outcome.exit_code, outcome.stdout.strip()) == (0, "no users")
    assert json.loads(cli(["users", "list", "--json"], db=db_url).stdout)["data"] == []


def test_password_appears_in_no_output_argv_or_traceback(manage_proc, db_url) -> None:
    """Ops' path, as a real process: success, duplicate and --verbose failure output."""
    runs = [
        manage_proc(
            [
                "users",
                "create-superuser",
                "--email",
                "ops@example.com",
                "--password-stdin",
                "--json",
            ],
            input=PASSWORD + "\n",
            db=db_url,
        ),
        manage_proc(
            [
                "--verbose",
                "users",
                "create-superuser",
                "--email",
                "OPS@example.com",
                "--password-stdin",
            ],
            input=PASSWORD + "\n",
            db=db_url,
        ),
        manage_proc(
            [
                "--verbose",
                "users",
                "create-superuser",
                "--email",
                "x@example.com",
                "--password-stdin",
            ],
            input="password1234\n",
            db=db_url,
        ),
    ]
    assert [run.exit_code for run in runs] == [0, 4, 5]
    for run in runs:
        assert PASSWORD not in run.stdout + run.stderr
        assert "password1234" not in run.stdout + run.stderr
    audit = fetch(db_url, "SELECT actor, action, target, details FROM audit_log")
    assert PASSWORD not in str(audit)


def test_a_rerun_with_if_exists_skip_needs_no_password_source(manage_proc, db_url) -> None:
    """The container step and `make run` rerun with no secret at hand: the account exists, so
    nothing is read, nothing is checked against today's policy, and nothing changes."""
    first = manage_proc(
        ["users", "create-superuser", "--email", "ops@example.com", "--if-exists", "skip"],
        env={"MANAGE_PASSWORD": "Correct-Horse-9"},
        db=db_url,
    )
    assert first.exit_code == 0, first.stderr
    hashes = fetch(db_url, "SELECT hashed_password FROM users")
    for env in ({}, {"MANAGE_PASSWORD": "short"}):
        rerun = manage_proc(
            ["users", "create-superuser", "--email", "OPS@example.com", "--if-exists", "skip"],
            env=env,
            db=db_url,
        )
        assert rerun.exit_code == 0, rerun.stderr
        assert "left unchanged" in rerun.stdout and rerun.stderr == ""
    as_json = manage_proc(
        [
            "users",
            "create-superuser",
            "--email",
            "ops@example.com",
            "--if-exists",
            "skip",
            "--json",
        ],
        db=db_url,
    )
    assert json.loads(as_json.stdout)["data"]["outcome"] == "unchanged"
    assert fetch(db_url, "SELECT hashed_password FROM users") == hashes
    # A new account still needs a password source: exit 5, one line, one envelope.
    new = manage_proc(
        [
            "users",
            "create-superuser",
            "--email",
            "new@example.com",
            "--if-exists",
            "skip",
            "--json",
        ],
        db=db_url,
    )
    assert new.exit_code == 5
    assert json.loads(new.stdout)["error_code"] == "INVALID_INPUT"
    assert len(new.stderr.strip().splitlines()) == 1
