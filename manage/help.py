"""How help pages read: one pass over a command tree before Typer renders it.

Typer 0.2x shows every option's Python type as its value (`--json <bool>`, `<list[str]>`), an
argument as `{email}`, a docstring's backticks literally, and wraps examples mid-command. This
pass gives each page what a reader needs, in one place for every command:

- flags show no value; an option's value is a short metavar (EMAIL, N, SECONDS, PATH, a|b|c);
  an argument is its name in capitals (EMAIL, EMAIL... when it repeats);
- paragraphs are reflowed, `code` is shown in bold (rich markup), never with backticks;
- the page ends with its examples (manage/examples.py) as a block kept line by line;
- a group without sub-commands (`manage shell`) does not advertise COMMAND [ARGS].

Only typer and rich (already imported by Typer's help) are needed: `--help` stays light.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from manage.examples import EXAMPLES

# Value names by option name, where the name alone says what goes there.
_NAMED = {
    "email": "EMAIL",
    "database_url": "URL",
    "command": "CODE",
    "message": "TEXT",
    "full_name": "NAME",
    "description": "TEXT",
    "search": "TEXT",
    "action": "ACTION",
    "target": "TARGET",
    "role": "ROLE",
    "permission": "PERMISSION",
    "dialect": "DIALECT",
    "rev_range": "RANGE",
    "set": "NAME",
}
_BY_TYPE = {int: "N", float: "SECONDS", str: "TEXT"}

_CODE = re.compile(r"`([^`\n]+)`")
_EXAMPLE_PARAGRAPH = re.compile(r"^\s*Examples?:", re.IGNORECASE)


def polish(command: Any, path: str) -> None:
    """Prepare `command` (a click command or group, and its sub-commands) for `--help`.

    `path` is the command path after `manage` ("" for the root, "users create" for a
    command). Idempotent: a command already polished is left alone.
    """
    if getattr(command, "_manage_polished", False):
        return
    command._manage_polished = True
    command.help = rich_text(_without_examples(command.help))
    if command.short_help:
        command.short_help = rich_text(command.short_help)
    epilog = _without_examples(getattr(command, "epilog", None))
    command.epilog = _join(rich_text(epilog), examples_block(path))
    for param in command.params:
        _polish_param(param)
    _help_option_is_a_flag(command)
    subcommands = getattr(command, "commands", None)
    if subcommands is not None and not subcommands and not _lazy(command):
        command.subcommand_metavar = ""  # a callback-only group: nothing follows
    for name, sub in (subcommands or {}).items():
        polish(sub, f"{path} {name}".strip())


def _lazy(command: Any) -> bool:
    return type(command).__name__ == "LazyGroup"


def examples_block(path: str) -> str | None:
    """The page's examples as rich markup: "Examples:" and one indented line per line.

    It starts with a line break: Typer dedents the epilog (inspect.cleandoc measures the
    indent from the second line on), which would take the block's indent away when the
    block is all the epilog there is."""
    lines = EXAMPLES.get(path)
    if not lines:
        return None
    title = "Start here:" if path == "" else "Examples:"
    return "\n".join(["", f"[bold]{title}[/bold]", *(f"  {_escape(line)}" for line in lines)])


def _escape(text: str) -> str:
    """`text` shown as is under rich markup: an opening bracket is escaped. (rich's own
    escape() also doubles a trailing backslash, which is a shell line continuation here.)"""
    return text.replace("[", "\\[")


def rich_text(text: str | None) -> str | None:
    """`text` (a docstring or help string) as rich markup: each paragraph on one line (a
    paragraph starting with click's \\b marker keeps its lines), anything that looks like
    markup escaped, and `code` in bold instead of between backticks."""
    if not text:
        return text
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        if paragraph.startswith("\b"):
            paragraph = paragraph.removeprefix("\b").strip("\n")
        else:
            paragraph = " ".join(line.strip() for line in paragraph.splitlines())
        paragraphs.append(_CODE.sub(lambda m: f"[bold]{m[1]}[/bold]", _escape(paragraph)))
    return "\n\n".join(paragraphs)


def _without_examples(text: str | None) -> str | None:
    """`text` without its "Example:" paragraphs: every page's examples come from one place
    (manage/examples.py) and are shown as a block."""
    if not text:
        return text
    kept = [p for p in inspect.cleandoc(text).split("\n\n") if not _EXAMPLE_PARAGRAPH.match(p)]
    return "\n\n".join(kept) or None


def _join(*parts: str | None) -> str | None:
    return "\n\n".join(part for part in parts if part) or None


def _help_option_is_a_flag(command: Any) -> None:
    """`--help` is made on demand (click's get_help_option, cached per command): give it
    no value column like every other flag when it is made."""
    make = command.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = make(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = get_help_option


def _polish_param(param: Any) -> None:
    if param.help:
        param.help = rich_text(param.help)
    if param.param_type_name == "argument":
        if param.metavar is None:
            name = (param.name or "value").upper()
            param.metavar = name.removesuffix("S") + "..." if param.nargs != 1 else name
        param.__class__ = _argument_class(type(param))
        return
    _range_in_help(param)
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        param.metavar = ""  # a flag takes no value: `--json`, never `--json <bool>`
        return
    if param.metavar is not None:
        return
    param.metavar = _option_metavar(param)
    if getattr(param, "multiple", False) and param.help and "repeat" not in param.help:
        param.help = f"{param.help} Repeatable."


def _range_in_help(param: Any) -> None:
    """A number's bounds go in its help, once, as `1-10000`: Typer shows them beside the
    value in Python's notation (`N [0<=x<=9223372036854775807]`), which crowds the help
    column out at 80 columns. Only the help display changes: Typer checks a value against
    the bounds it was declared with (its ParameterInfo), not these attributes."""
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is None and high is None:
        return
    param._manage_range = (low, high)
    param.min = param.max = None
    said = param.help or ""
    if str(high if high is not None else low) in said or "2**63-1" in said:
        return
    if low is not None and high is not None:
        bounds = f"{low}-{high}"
    else:
        bounds = f"at least {low}" if low is not None else f"at most {high}"
    param.help = f"{said.rstrip('.')} ({bounds})." if said else f"{bounds}."


def _option_metavar(param: Any) -> str:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and descriptor.is_choice and descriptor.choices:
        return "|".join(str(getattr(c, "value", c)) for c in descriptor.choices)
    if param.name in _NAMED:
        return _NAMED[param.name]
    annotation = getattr(descriptor, "annotation", None)
    element = getattr(annotation, "__args__", (annotation,))[0]  # list[str] -> str
    if isinstance(element, type) and element.__name__ in ("Path", "PosixPath", "WindowsPath"):
        return "PATH"
    return _BY_TYPE.get(element, "VALUE")


_ARGUMENT_CLASSES: dict[type, type] = {}


def _argument_class(base: type) -> type:
    """`base` (Typer's argument class) showing an argument the way click and most CLIs do:
    EMAIL when required, [EMAIL] when not, EMAIL... when it repeats, and no type column
    beside the name. Typer 0.2x writes `{email}` and `<str>`; the names overridden are
    Typer's own (tests/test_help_pages.py fails if they stop applying)."""
    if base in _ARGUMENT_CLASSES.values():
        return base

    def usage(self: Any) -> str:
        return self.metavar if self.required else f"[{self.metavar}]"

    def listed(self: Any) -> str:
        return self.metavar

    def no_type(self: Any, ctx: Any) -> None:
        return None

    if base not in _ARGUMENT_CLASSES:
        _ARGUMENT_CLASSES[base] = type(
            f"Listed{base.__name__}",
            (base,),
            {
                "_usage_display_name": usage,
                "_rich_display_name": listed,
                "display_type_rich": no_type,
            },
        )
    return _ARGUMENT_CLASSES[base]
