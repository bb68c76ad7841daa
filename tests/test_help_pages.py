"""Every help page, rendered at 80 and 120 columns the way a user sees it, reads well: flags
show no value, values and arguments have short names, examples are whole lines that run,
no backticks, a group says the same thing on `manage --help` and on its own page."""

from __future__ import annotations

import re
import shlex
import subprocess
from typing import Any

import pytest
import typer
from rich.text import Text
from typer.testing import CliRunner

from manage.cli import GROUPS, app
from manage.examples import EXAMPLE_WIDTH, EXAMPLES
from tests.conftest import MANAGE_BIN, REPO, manage_env

WIDTHS = (80, 120)
# What Typer 0.2x prints for a parameter left to its defaults: `<bool>`, `<list[str]>`,
# `<str>`, `<path>`, `<int range>`, and `{email}` for a required argument in the usage line.
TYPE_METAVAR = re.compile(r"<(bool|str|int|float|path|list\[|choice|file|text|integer)[^>]*>")
BRACED_ARGUMENT = re.compile(r"\{[a-z_]+(\.\.\.)?\}")
# Click's range notation beside a value (`N [0<=x<=9223372036854775807]`): Python's, and as
# wide as the help column at 80; the bounds belong in the option's help, once.
RANGE_NOTATION = re.compile(r"<=?x|x<|x>")


def _root() -> Any:
    return typer.main.get_command(app)


def _pages() -> list[tuple[str, Any]]:
    """(path after `manage`, command) for every help page: the root, each group and each
    command in it."""
    root = _root()
    pages = [("", root)]
    for name in GROUPS:
        group = root.get_command(None, name)
        pages.append((name, group))
        for sub in getattr(group, "commands", {}):
            pages.append((f"{name} {sub}", group.commands[sub]))
    return pages


PAGES = _pages()


def _render(path: str, width: int) -> str:
    result = CliRunner().invoke(app, [*path.split(), "--help"], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.stdout


def _plain(markup: str) -> str:
    return Text.from_markup(markup).plain


def test_there_are_as_many_pages_as_the_readme_promises() -> None:
    # The root, 8 groups and their commands: a page that went missing is noticed here.
    assert len(PAGES) >= 52, [path for path, _ in PAGES]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", [path for path, _ in PAGES], ids=lambda p: p or "manage")
def test_help_page_reads_well(path: str, width: int) -> None:
    page = _render(path, width)
    command = dict(PAGES)[path]
    lines = [line.rstrip() for line in page.splitlines()]

    assert not TYPE_METAVAR.search(page), page
    assert not BRACED_ARGUMENT.search(page), page
    assert not RANGE_NOTATION.search(page), page
    assert "`" not in page, page
    assert all(len(line) <= width for line in lines), page

    # A flag shows no value: the first word after its names is the start of its help.
    for param in command.params:
        if param.param_type_name != "option" or not getattr(param, "is_flag", False):
            continue
        if param.hidden or not param.help:
            continue
        names = [*param.opts, *param.secondary_opts]
        long_name = next(name for name in names if name.startswith("--"))
        # Its row, not a help line that mentions it: the names column starts the row.
        listed = re.compile(rf"^│ {{1,6}}(\*\s+)?{re.escape(long_name)}(?![\w-])")
        row = next((line for line in lines if listed.match(line)), None)
        assert row is not None, f"{long_name} not listed on `{path} --help`:\n{page}"
        after = row.strip("│ *").split()
        words = [word for word in after if word not in names]
        assert words[0] == _plain(param.help).split()[0], f"{long_name} shows a value: {row}"

    # The examples are a block of whole lines, in order, under their title.
    examples = EXAMPLES.get(path)
    assert examples, f"`manage {path} --help` has no example (manage/examples.py)"
    title = "Start here:" if path == "" else "Examples:"
    stripped = [line.strip() for line in lines]
    assert title in stripped, page
    start = stripped.index(title) + 1
    assert stripped[start : start + len(examples)] == [line.strip() for line in examples], page


@pytest.mark.parametrize("path", [path for path, _ in PAGES], ids=lambda p: p or "manage")
def test_every_example_fits_80_columns_and_parses(path: str) -> None:
    """Each example is at most EXAMPLE_WIDTH characters and, joined at its backslashes, is
    a command line `manage` accepts: the options exist and take the values given."""
    examples = EXAMPLES[path]
    assert all(len(line) <= EXAMPLE_WIDTH for line in examples), examples
    for command_line in _command_lines(examples):
        for words in _manage_invocations(command_line):
            _parse(words)


def _command_lines(lines: tuple[str, ...]) -> list[str]:
    """Lines joined where one ends in a backslash, as a shell reads them."""
    joined, pending = [], ""
    for line in lines:
        if line.endswith("\\"):
            pending += line[:-1]
        else:
            joined.append(pending + line)
            pending = ""
    assert not pending, lines
    return joined


def _manage_invocations(command_line: str) -> list[list[str]]:
    """The argument lists of each `manage ...` in a shell line (after VAR=value prefixes,
    up to a pipe, redirection, `&&` or a comment)."""
    if command_line.strip().startswith("#"):
        return []
    found, current = [], None
    for word in shlex.split(command_line, comments=True):
        if word in ("|", "&&", ">", ";"):
            current = None
        elif word == "manage" and current is None:
            current = []
            found.append(current)
        elif current is not None:
            current.append(word)
    return found


def _parse(words: list[str]) -> None:
    """Parse `manage WORDS` as the CLI would, without running anything: a usage error
    (unknown option or command, a bad or missing value) fails the test."""
    command, ctx, name, rest = _root(), None, "manage", list(words)
    while True:
        ctx = command.make_context(name, rest, parent=ctx)
        if not isinstance(command, typer.core.TyperGroup):
            return
        args = [*ctx._protected_args, *ctx.args]
        if not args:
            return
        name, rest = args[0], args[1:]
        command = command.get_command(ctx, name)
        assert command is not None, f"no command {name!r} in {words}"


def test_group_descriptions_match_between_the_root_and_the_group_page() -> None:
    root = _render("", 120)
    for name, spec in GROUPS.items():
        assert re.search(rf"│ {name} +{re.escape(spec.help)} +│", root), root
        page = [line.strip() for line in _render(name, 120).splitlines() if line.strip()]
        assert page[1] == spec.help, page  # after the usage line


def test_shell_help_advertises_no_sub_commands() -> None:
    page = _render("shell", 80)
    assert "COMMAND [ARGS]" not in page
    assert "Usage: manage shell [OPTIONS]" in page


def test_every_json_option_has_the_same_one_line_description() -> None:
    helps = {
        param.help
        for _, command in PAGES
        for param in command.params
        if "--json" in getattr(param, "opts", ())
    }
    assert len(helps) == 1, helps
    (text,) = helps
    assert len(_plain(text)) <= 72


def test_manage_with_no_arguments_shows_the_three_stories_first_commands() -> None:
    proc = subprocess.run(
        [str(MANAGE_BIN)],
        capture_output=True,
        text=True,
        env=manage_env(COLUMNS="80"),
        cwd=REPO,
        timeout=60,
    )
    lines = [line.strip() for line in proc.stdout.splitlines()]
    for story, first in (
        ("# ops:", "manage users create-superuser --email ops@example.com \\"),
        ("# developers:", "manage migrate upgrade"),
        ("# pipelines:", "manage seed run --dry-run"),
    ):
        at = next(i for i, line in enumerate(lines) if line.startswith(story))
        assert lines[at + 1] == first, proc.stdout
    assert proc.stderr == ""


def test_a_ranged_option_says_its_bounds_in_its_help_and_still_enforces_them(cli) -> None:
    for _, command in PAGES:
        for param in command.params:
            bounds = getattr(param, "_manage_range", None)
            if bounds is not None:
                low, high = bounds
                assert str(low) in _plain(param.help) and (
                    str(high) in _plain(param.help) or "2**63-1" in param.help
                ), (param.opts, param.help)
    fake = dict(PAGES)["seed fake"]
    (batch,) = [param for param in fake.params if "--batch-size" in param.opts]
    assert batch.help == "Rows per batch (1-100000).", batch.help  # its help had no bounds
    outcome = cli(["users", "list", "--limit", "0"])
    assert outcome.exit_code == 2 and "--limit" in outcome.stderr, outcome
    assert "greater than or equal to 1" in outcome.stderr, outcome
