"""Issue 11, item 5: data reaches the terminal as plain text, never as markup or control codes.

Full names, role descriptions and audit actors are free text anyone with API or CLI access
can set; the operator who lists them must see them escaped, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from manage.context import GlobalOptions
from manage.runner import run_session

PASSWORD = "Corr3ct-Horse-Batt3ry"

# Each hostile value and what the operator must see instead (a fragment of the escaped form).
HOSTILE = {
    "markup-close": ("[/]", "[/]"),
    "markup-style": ("[bold red]boss[/bold red]", "[bold red]boss[/bold red]"),
    "clear-screen": ("\x1b[2J\x1b[Hhi", "\\x1b[2J\\x1b[Hhi"),
    "hyperlink": ("\x1b]8;;https://evil.example\x07click\x1b]8;;\x07", "\\x1b]8;;https://evil"),
    "c1-csi": ("\x9b31mred", "\\x9b31mred"),
    "newline": ("line1\nline2", "line1\\nline2"),
    "carriage-return": ("ok\rforged", "ok\\rforged"),
    "bidi-override": ("abc\u202edef", "abc\\u202edef"),
    "emoji-code": (":thumbs_up:", ":thumbs_up:"),
}
CONTROL = ("\x1b", "\x9b", "\x07", "\r", "\u202e")
WIDE = {"COLUMNS": "250"}  # no cell wraps, so each escaped value is on one line


def _assert_plain(outcome, shown: str) -> None:
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stderr == ""
    for char in CONTROL:
        assert char not in outcome.stdout
    assert shown in outcome.stdout


@pytest.mark.parametrize("name", HOSTILE)
def test_users_list_and_show_print_a_hostile_full_name_as_escaped_text(cli, db_url, name):
    value, shown = HOSTILE[name]
    created = cli(
        ["users", "create", "--email", "jo@example.com", "--full-name", value, "--password-stdin"],
        input=PASSWORD + "\n",
        db=db_url,
    )
    assert created.exit_code == 0, created.stderr
    assert "\x1b" not in created.stdout
    _assert_plain(cli(["users", "list"], env=WIDE, db=db_url), shown)
    _assert_plain(cli(["users", "show", "jo@example.com"], env=WIDE, db=db_url), shown)
    # --json keeps the exact value: scripts get the data, people get it escaped.
    listed = json.loads(cli(["users", "list", "--json"], db=db_url).stdout)
    assert listed["data"][0]["full_name"] == value


@pytest.mark.parametrize("name", HOSTILE)
def test_roles_list_and_show_print_a_hostile_description_as_escaped_text(cli, db_url, name):
    value, shown = HOSTILE[name]
    created = cli(["roles", "create", "editors", "--description", value], db=db_url)
    assert created.exit_code == 0, created.stderr
    _assert_plain(cli(["roles", "list"], env=WIDE, db=db_url), shown)
    _assert_plain(cli(["roles", "show", "editors"], env=WIDE, db=db_url), shown)


@pytest.mark.parametrize("name", HOSTILE)
def test_audit_list_prints_a_hostile_actor_as_escaped_text(cli, db_url, name):
    value, shown = HOSTILE[name]
    created = cli(
        ["roles", "create", "editors"], env={"MANAGE_ACTOR": value.replace("\x00", "")}, db=db_url
    )
    assert created.exit_code == 0, created.stderr
    _assert_plain(cli(["audit", "list"], env=WIDE, db=db_url), shown)


def test_a_hostile_value_is_escaped_in_a_real_subprocess_too(manage_proc, db_url) -> None:
    value = "[/]\x1b]8;;https://evil.example\x07x\x1b]8;;\x07"
    created = manage_proc(
        ["users", "create", "--email", "jo@example.com", "--full-name", value, "--password-stdin"],
        input=PASSWORD + "\n",
        db=db_url,
    )
    assert created.exit_code == 0, created.stderr
    listed = manage_proc(["users", "list"], env=WIDE, db=db_url)
    assert listed.exit_code == 0, listed.stderr
    assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout
    assert "[/]\\x1b]8;;https://evil.example" in listed.stdout


def test_a_rendering_failure_is_one_line_exit_70_without_a_traceback(tmp_path) -> None:
    """A renderer that raises (a bug) still ends like every other command: one line, 70."""
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context, verbose: bool = typer.Option(False, "--verbose")) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
        ctx.obj = GlobalOptions(database_url=url, verbose=verbose)

    @app.command()
    def show(ctx: typer.Context) -> None:
        async def handler(db) -> str:
            return "data"

        def render(result: str) -> None:
            raise RuntimeError("renderer bug")

        run_session(ctx, handler, render=render)

    @app.command()
    def other() -> None:  # two commands, so `show` is a sub-command name
        pass

    result = CliRunner().invoke(app, ["show"])
    assert result.exit_code == 70
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: cannot show the result (RuntimeError)")
    assert "Traceback" not in result.stderr
    verbose = CliRunner().invoke(app, ["--verbose", "show"])
    assert verbose.exit_code == 70
    assert "RuntimeError: renderer bug" in verbose.stderr


def _calls(path):
    import ast

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            yield node


def test_every_table_row_and_printed_f_string_goes_through_the_output_helpers() -> None:
    """Data reaches rich only through manage/output.py (plain, add_row, success_line, ...)
    and manage/tables.py (data_table, whose cells are plain()): no other module adds a
    table row or prints an f-string built from data itself."""
    from tests.conftest import REPO

    offenders = sorted(
        f"{path.relative_to(REPO)}:{call.lineno} {call.func.attr}"
        for folder in ("manage", "commands", "app", "db")
        for path in (REPO / folder).rglob("*.py")
        if path not in (REPO / "manage" / "output.py", REPO / "manage" / "tables.py")
        for call in _calls(path)
        if (call.func.attr == "add_row" and getattr(call.func.value, "id", "") != "output")
        or (
            call.func.attr == "print"
            and call.args
            and type(call.args[0]).__name__ in {"JoinedStr", "BinOp"}
        )
    )
    assert offenders == []


def test_seed_list_and_status_print_hostile_file_names_as_escaped_text(cli, db_url, tmp_path):
    name = "[red]x[\x1b]8;;evil.example\x07]"
    (tmp_path / "seeds" / "dev").mkdir(parents=True)
    (tmp_path / "seeds" / "dev" / f"{name}.yaml").write_text("roles:\n  - name: seeded\n")
    ran = cli(["seed", "run", "dev"], env=WIDE, db=db_url)
    assert ran.exit_code == 0, ran.stderr
    shown = "[red]x[\\x1b]8;;evil.example\\x07]"
    _assert_plain(cli(["seed", "list"], env=WIDE, db=db_url), shown)
    _assert_plain(cli(["seed", "status"], env=WIDE, db=db_url), shown)


def test_migrate_history_and_status_print_a_hostile_revision_message_as_escaped_text(
    cli, blank_db_url, tmp_path
) -> None:
    db_url = blank_db_url
    import shutil

    from tests.migrations_fixtures import CHAIN_DIR

    scripts = tmp_path / "migrations"
    shutil.copytree(CHAIN_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    last = next((scripts / "versions").glob("*m5e00005*.py"))
    last.write_text(last.read_text().replace('"""marker 5', '"""[/]\x1b[2Jmarker 5', 1))
    env = {**WIDE, "MANAGE_MIGRATIONS_DIR": str(scripts)}
    shown = "[/]\\x1b[2Jmarker 5"
    _assert_plain(cli(["migrate", "history"], env=env, db=db_url), shown)
    status = cli(["migrate", "status"], env=env, db=db_url)
    assert "\x1b" not in status.stdout and shown in status.stdout
