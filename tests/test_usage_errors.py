"""Issue 11, item 7: a usage error keeps the exit-code and JSON contract of every other error.

Without --json: one `error:` line and one hint line on stderr, nothing on stdout, exit 2.
With --json anywhere in argv (even where it is not an option, even when parsing fails): one
envelope on stdout with error_code USAGE_ERROR and one line on stderr, exit 2.
"""

from __future__ import annotations

import json

import pytest

# (argv, a fragment of the message, the command whose --help the hint names)
CASES = {
    "unknown-root-option": (["--bogus", "users", "list"], "no such option: --bogus", "manage"),
    "unknown-group-option": (["users", "--bogus", "list"], "no such option: --bogus", "users"),
    "unknown-command-option": (["users", "list", "--bogus"], "no such option", "users list"),
    "unknown-command": (["nosuch"], "no such command 'nosuch'", "manage"),
    "unknown-subcommand": (["users", "nosuch"], "no such command 'nosuch'", "users"),
    "bad-integer": (["audit", "list", "--limit", "many"], "invalid value for '--limit'", "audit"),
    "out-of-range": (["audit", "list", "--limit", "0"], "invalid value for '--limit'", "audit"),
    "bad-choice": (
        ["users", "create-superuser", "--email", "a@example.com", "--if-exists", "maybe"],
        "invalid value for '--if-exists'",
        "users create-superuser",
    ),
    "missing-argument": (["users", "show"], "missing argument", "users show"),
    "missing-option": (["users", "create"], "missing option '--email'", "users create"),
    "extra-argument": (["users", "list", "surplus"], "unexpected extra argument", "users list"),
    "option-needs-value": (["audit", "list", "--limit"], "requires an argument", "audit list"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_usage_error_is_one_error_line_one_hint_and_exit_2(cli, case) -> None:
    args, fragment, command = CASES[case]
    outcome = cli(args)
    assert outcome.exit_code == 2, outcome.stderr
    assert outcome.stdout == ""
    lines = outcome.stderr.splitlines()
    assert len(lines) == 2, outcome.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0]
    assert lines[1].startswith("run `manage") and command in lines[1] and "--help" in lines[1]
    assert "╭" not in outcome.stderr and "Usage:" not in outcome.stderr


@pytest.mark.parametrize("where", ["end", "start", "middle"])
@pytest.mark.parametrize("case", CASES)
def test_with_json_anywhere_a_usage_error_is_one_envelope_and_one_line(cli, case, where) -> None:
    args, _, _ = CASES[case]
    position = {"end": len(args), "start": 0, "middle": 1}[where]
    outcome = cli([*args[:position], "--json", *args[position:]])
    assert outcome.exit_code == 2, outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1, outcome.stderr
    assert outcome.stderr.startswith("error: ")
    document = json.loads(outcome.stdout)  # exactly one JSON document, nothing else
    assert document["success"] is False and document["data"] is None
    assert document["error_code"] == "USAGE_ERROR"
    assert document["message"] == outcome.stderr.strip().removeprefix("error: ")


def test_json_after_a_double_dash_is_an_argument_not_the_flag(cli) -> None:
    outcome = cli(["users", "show", "--", "--json", "surplus"])
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    assert len(outcome.stderr.splitlines()) == 2


def test_a_usage_error_value_is_escaped_to_one_line(cli) -> None:
    outcome = cli(["users", "list", "--bo\x1b[2Jgus\nforged"])
    assert outcome.exit_code == 2
    assert "\x1b" not in outcome.stderr
    assert len(outcome.stderr.splitlines()) == 2


def test_usage_errors_in_the_real_console_script(manage_proc) -> None:
    plain = manage_proc(["users", "create", "--email"])
    assert plain.exit_code == 2
    assert plain.stdout == ""
    assert plain.stderr.splitlines() == [
        "error: option '--email' requires an argument",
        "run `manage users create --help` for the usage",
    ]
    scripted = manage_proc(["--json", "migrate", "upgrade", "--bogus"])
    assert scripted.exit_code == 2
    assert json.loads(scripted.stdout)["error_code"] == "USAGE_ERROR"
    assert len(scripted.stderr.splitlines()) == 1


def test_help_and_no_arguments_still_show_the_help(cli) -> None:
    assert cli(["users", "--help"]).exit_code == 0
    bare = cli(["users"])
    assert "Commands" in bare.stdout + bare.stderr


def test_ctrl_d_at_a_confirmation_is_interrupted_130_not_click_aborted_1(db_url) -> None:
    """click turns Ctrl-D (EOF) at a prompt into Abort, which Typer reports as "Aborted."
    with exit 1 ("a check found problems"); ours is an interruption."""
    pexpect = pytest.importorskip("pexpect")
    from tests.conftest import MANAGE_BIN, fetch, manage_env

    fetch(db_url, "INSERT INTO roles (name, description, created_at) "
                  "VALUES ('doomed', '', CURRENT_TIMESTAMP)")  # fmt: skip
    child = pexpect.spawn(
        str(MANAGE_BIN), ["roles", "delete", "doomed"], env=manage_env(db_url), timeout=30,
        encoding="utf-8",
    )  # fmt: skip
    child.expect(r"\[y/N\]")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "interrupted" in child.before
    assert fetch(db_url, "SELECT name FROM roles") == [("doomed",)]


@pytest.mark.parametrize(
    ("args", "exact"),
    [
        (["users", "x\x1by"], "no such command 'x\x1by'"),
        (["users", "list", "--b\x1b[2Jogus"], "no such option: --b\x1b[2Jogus"),
        (["users", "list", "--b\x1bogus=1"], "no such option: --b\x1bogus"),
        (["users", "list", "--b\u202eogus"], "no such option: --b\u202eogus"),
    ],
)
def test_the_json_usage_envelope_carries_exact_values_and_only_stderr_escapes_them(
    manage_proc, args, exact
) -> None:
    from manage.output import escape_controls

    result = manage_proc([*args, "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["message"] == exact
    assert result.stderr.splitlines() == [f"error: {escape_controls(exact)}"]
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr
