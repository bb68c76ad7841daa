"""Bytes that are not UTF-8, in argv, the environment or `.env`, are exit 5 naming where they
came from, never exit 70 or a hang (issue 11, attacker items 3, 6 and 9). Python hands such
bytes over as lone surrogates (PEP 383); subprocess passes them back as the same bytes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

BAD = "x\udcff"  # the byte 0xff, as Python decodes it from argv or the environment


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["users", "show", BAD], "command-line argument 3"),
        (["users", "delete", BAD, "--yes"], "command-line argument 3"),
        (["users", "list", "--search", BAD], "the argument after --search"),
        (["users", "list", f"--search={BAD}"], "the value of --search"),
        (["audit", "list", "--target", BAD], "the argument after --target"),
        (["audit", "list", "--action", BAD], "the argument after --action"),
        (["roles", "create", "ops", "--description", BAD], "the argument after --description"),
        (["roles", "show", BAD], "command-line argument 3"),
        (["roles", "grant", BAD, "users:read"], "command-line argument 3"),
    ],
)
def test_a_non_utf8_argument_is_exit_5_naming_it(manage_proc, db_url, args, named) -> None:
    result = manage_proc([*args, "--json"], db=db_url)
    assert result.exit_code == 5, result.stderr
    line = f"{named} is not UTF-8 text (it holds bytes of another encoding)"
    assert result.stderr.splitlines() == [f"error: {line}"]
    document = json.loads(result.stdout)
    assert document["error_code"] == "INVALID_INPUT" and document["message"] == line


def test_a_non_utf8_argument_changes_nothing(manage_proc, db_url) -> None:
    from tests.conftest import fetch

    before = fetch(db_url, "SELECT count(*) FROM roles")
    result = manage_proc(["roles", "create", BAD], db=db_url)
    assert result.exit_code == 5
    assert fetch(db_url, "SELECT count(*) FROM roles") == before


@pytest.mark.parametrize(
    ("variable", "args"),
    [
        ("MANAGE_ACTOR", ["roles", "create", "ops"]),
        ("DATABASE_URL", ["users", "list"]),
        ("DB_STATEMENT_TIMEOUT", ["users", "list"]),
        ("FIRST_SUPERUSER_EMAIL", ["db", "check"]),
        ("DATABASE_URL", ["config", "show"]),
    ],
)
def test_a_non_utf8_setting_is_exit_5_naming_the_variable(
    manage_proc, db_url, variable, args
) -> None:
    env = {variable: (db_url + BAD) if variable == "DATABASE_URL" else BAD}
    result = manage_proc([*args, "--json"], db=db_url, env=env)
    assert result.exit_code == 5, result.stderr
    assert result.stderr.splitlines() == [
        f"error: invalid setting {variable}: not UTF-8 text (it holds bytes of another encoding)"
    ]
    assert json.loads(result.stdout)["error_code"] == "INVALID_INPUT"


@pytest.mark.parametrize("args", [["users", "list"], ["config", "show"], ["db", "check"]])
def test_a_non_utf8_env_file_is_exit_5_naming_env_and_the_line(
    manage_proc, db_url, tmp_path, args
) -> None:
    (tmp_path / ".env").write_bytes(b"ENVIRONMENT=test\n# caf\xe9\nDB_ECHO=false\n")
    result = manage_proc(args, db=db_url)
    assert result.exit_code == 5, result.stderr
    assert result.stderr.splitlines() == ["error: invalid setting .env: not UTF-8 text (line 2)"]


@pytest.mark.parametrize("args", [["users", "list"], ["config", "show"], ["migrate", "current"]])
def test_a_fifo_env_file_is_refused_at_once_not_waited_on(
    manage_proc, db_url, tmp_path, args
) -> None:
    os.mkfifo(tmp_path / ".env")
    started = time.monotonic()
    result = manage_proc(args, db=db_url, timeout=30)
    assert time.monotonic() - started < 20
    assert result.exit_code == 5, result.stderr
    assert result.stderr.splitlines() == [
        "error: invalid setting .env: not a regular file (a pipe, a device or a socket)"
    ]


def test_an_oversized_env_file_is_refused(manage_proc, db_url, tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"# padding\n" * 200_000)
    result = manage_proc(["users", "list"], db=db_url)
    assert result.exit_code == 5
    assert result.stderr.splitlines() == ["error: invalid setting .env: larger than 1024 KiB"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("pw\udcff-long-enough", "not UTF-8 text (invalid byte at offset 2)"),
        ("p" * (64 * 1024 + 1), "larger than 64 KiB; a password is far shorter"),
    ],
)
def test_manage_password_follows_the_rules_of_every_password_source(
    manage_proc, db_url, value, reason
) -> None:
    result = manage_proc(
        ["users", "create-superuser", "--email", "root@example.com"],
        db=db_url,
        env={"MANAGE_PASSWORD": value},
    )
    assert result.exit_code == 5, result.stderr
    assert result.stderr.splitlines() == [
        f"error: cannot use the password from $MANAGE_PASSWORD: {reason}"
    ]


def test_a_seed_password_env_loses_its_trailing_newline_and_bom_like_a_password_file(
    cli, db_url, tmp_path
) -> None:
    from app.security import pwd_context
    from tests.conftest import fetch

    seed_file = tmp_path / "users.yaml"
    seed_file.write_text(
        "users:\n  - email: ops@example.com\n    password_env: OPS_PASSWORD\n", encoding="utf-8"
    )
    password = "Correct-Horse-Battery-9"
    result = cli(
        ["seed", "run", str(seed_file)],
        db=db_url,
        env={"OPS_PASSWORD": "\ufeff" + password + "\n"},
    )
    assert result.exit_code == 0, result.stderr
    [(stored,)] = fetch(db_url, "SELECT hashed_password FROM users WHERE email = 'ops@example.com'")
    assert pwd_context().verify(password, stored)
    assert not pwd_context().verify(password + "\n", stored)


def test_a_seed_password_env_with_non_utf8_bytes_is_exit_5_naming_it(cli, db_url, tmp_path) -> None:
    seed_file = tmp_path / "users.yaml"
    seed_file.write_text(
        "users:\n  - email: ops@example.com\n    password_env: OPS_PASSWORD\n", encoding="utf-8"
    )
    result = cli(["seed", "run", str(seed_file)], db=db_url, env={"OPS_PASSWORD": BAD})
    assert result.exit_code == 5, result.stderr
    assert "cannot use $OPS_PASSWORD: not UTF-8 text" in result.stderr
