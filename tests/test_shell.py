"""`manage shell`: -c snippets in one transaction, and the interactive async REPL."""

from __future__ import annotations

import time

import pytest

from tests.conftest import MANAGE_BIN, fetch, manage_env

CREATE_ROLE = "db.add(Role(name='from-shell', description='made in the shell'))\nawait db.flush()\n"


def test_snippet_prints_its_final_expression(cli, db_url) -> None:
    outcome = cli(["shell", "-c", "await users.count_superusers(db)"], db=db_url)
    assert (outcome.exit_code, outcome.stdout.strip()) == (0, "0")


def test_snippet_commits_when_it_succeeds(cli, db_url) -> None:
    assert cli(["shell", "-c", CREATE_ROLE], db=db_url).exit_code == 0
    assert fetch(db_url, "SELECT name FROM roles") == [("from-shell",)]


def test_snippet_rolls_back_and_maps_the_error_to_its_exit_code(cli, db_url) -> None:
    outcome = cli(
        ["shell", "-c", CREATE_ROLE + "await users.get_user(db, email='ghost@example.com')"],
        db=db_url,
    )
    assert outcome.exit_code == 3
    assert outcome.stderr.splitlines() == [  # the error, then its next step (manage/hints.py)
        "error: user ghost@example.com not found",
        "`manage users list --search TEXT` finds accounts",
    ]
    assert fetch(db_url, "SELECT name FROM roles") == []


def test_snippet_syntax_error_is_exit_5_before_touching_the_database(cli) -> None:
    outcome = cli(
        ["shell", "-c", "def broken(:"], db="postgresql://postgres@127.0.0.1:1/never-reached"
    )
    assert outcome.exit_code == 5
    assert outcome.stderr.strip().startswith("error: -c: SyntaxError: ")
    assert outcome.stderr.strip().endswith("(line 1)")


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("nope", "-c: NameError: name 'nope' is not defined"),
        ("1/0", "-c: ZeroDivisionError: division by zero"),
        ("raise SystemExit(3)", "-c: SystemExit: 3"),
        ("await db.execute(text('selec 1'))", "-c: database error: "),
        ("await db.execute(text('select nope from users'))", "-c: database error: "),
    ],
)
def test_a_snippet_that_raises_is_exit_5_naming_its_error_not_70(cli, db_url, code, said) -> None:
    # The snippet is the user's input: its own NameError or SQL mistake is not a bug in
    # manage (exit 70); it is exit 5 naming what the snippet raised, and nothing stays.
    setup = "from sqlalchemy import text\n"
    writes = "await users.create_user(db, data=UserCreate(email='x@example.com', "
    writes += "password=SecretStr('Correct-Horse-9')), actor='t')\n"
    script = f"{setup}from pydantic import SecretStr\nfrom app.schemas.user import UserCreate\n"
    outcome = cli(["shell", "-c", script + writes + code], db=db_url)

    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.splitlines()[0].startswith(f"error: {said}"), outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1, outcome.stderr
    assert "Traceback" not in outcome.stderr and "[SQL" not in outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]


def test_interactive_shell_awaits_commits_survives_errors_and_ctrl_c(db_url) -> None:
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        str(MANAGE_BIN), ["shell"], env=manage_env(db_url), encoding="utf-8", timeout=30
    )
    child.expect("Ready: db")
    child.expect(">>> ")
    child.sendline("await users.count_superusers(db)")
    child.expect("0\r\n>>> ")
    child.sendline("1/0")
    child.expect("ZeroDivisionError")
    child.expect(">>> ")
    child.sendline("import asyncio; await asyncio.sleep(60)")
    time.sleep(0.5)
    child.sendintr()
    child.expect("KeyboardInterrupt")
    child.expect(">>> ")
    for line in CREATE_ROLE.splitlines():
        child.sendline(line)
        child.expect(">>> ")
    child.sendline("await db.commit()")
    child.expect(">>> ")
    child.sendline("db.add(Role(name='not-committed'))")
    child.expect(">>> ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert fetch(db_url, "SELECT name FROM roles ORDER BY name") == [("from-shell",)]
