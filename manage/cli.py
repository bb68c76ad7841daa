"""The root `manage` app. It only composes command groups, and loads each lazily.

`manage --help` imports typer and this module, nothing else: each group's module is imported
when that group runs, and its help line comes from GROUPS below.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from manage.context import GlobalOptions
from manage.help import polish


@dataclass(frozen=True)
class GroupSpec:
    module: str
    help: str


# Nouns are modules, verbs are commands: `manage users create-superuser`.
GROUPS: dict[str, GroupSpec] = {
    # The order of `manage --help`: accounts (ops' first step), the database and its
    # migrations (developers), data (pipelines), then the tools to look around.
    "users": GroupSpec("commands.users", "Create and manage user accounts."),
    "roles": GroupSpec("commands.roles", "Manage roles and permissions; keep roles as code."),
    "audit": GroupSpec("commands.audit", "Read the audit log of changes."),
    "db": GroupSpec("commands.db", "Prepare, check and open the database."),
    "migrate": GroupSpec("commands.migrate", "Run, review and check database migrations."),
    "seed": GroupSpec("commands.seed", "Load seed sets (YAML, idempotent) and fake data."),
    "config": GroupSpec("commands.config", "Show the effective configuration."),
    "shell": GroupSpec("commands.shell", "Open an async Python shell on the database."),
}


class LazyGroup(TyperGroup):
    """A group whose sub-groups are imported only when they are invoked."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *GROUPS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in GROUPS:
            return super().get_command(ctx, cmd_name)
        spec = GROUPS[cmd_name]
        if self._listing:
            # The root help needs a name and a line, not the group: skip the import.
            return TyperCommand(name=cmd_name, help=spec.help, short_help=spec.help)
        if cmd_name not in self.commands:
            module = importlib.import_module(spec.module)
            group = typer.main.get_group(module.app)
            group.name = cmd_name
            # The tagline `manage --help` lists is the group page's first line too; the
            # module's own help (or its callback's docstring) adds the paragraphs after it.
            group.help = _with_tagline(spec.help, group.help)
            polish(group, cmd_name)
            self.commands[cmd_name] = group
        return self.commands[cmd_name]

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        _plain_string_options(self.get_params(ctx))
        argv = ctx.meta[ARGV_KEY] = list(args)  # a copy: click's parser consumes `args`
        refuse_undecodable_arguments(argv)
        with usage_errors_reported(argv, lambda: ctx.command_path):
            return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        # Sub-groups and commands parse their own arguments in here.
        argv = ctx.meta.get(ARGV_KEY, [])
        with usage_errors_reported(argv, lambda: self._command_path(ctx, argv)):
            return super().invoke(ctx)

    def _command_path(self, ctx: Any, argv: list[str]) -> str:
        """`manage users create` for argv `users create --email`: the deepest command named."""
        words, command = [ctx.command_path], self
        for token in argv:
            if token == "--" or not hasattr(command, "get_command"):
                break
            if token.startswith("-") or token not in command.list_commands(ctx):
                continue
            command = command.get_command(ctx, token)
            words.append(token)
        return " ".join(words)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        polish(self, "")
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


ARGV_KEY = "manage.argv"


@contextmanager
def usage_errors_reported(argv: list[str], command_path: Callable[[], str]) -> Iterator[None]:
    """Turn click's usage errors (unknown option or command, bad value, missing argument)
    into our contract: one `error:` line on stderr and exit 2; with --json anywhere in argv
    (before a `--`) also the one JSON envelope on stdout (error_code USAGE_ERROR); without
    it, one hint line naming the command's --help. Never click's multi-line box.

    Typer re-exports only BadParameter of click's exceptions, so the base classes come from
    the click copy Typer 0.2x vendors (or click itself, for older Typer).
    """
    try:
        from typer._click.exceptions import ClickException, NoArgsIsHelpError
    except ImportError:  # pragma: no cover - Typer < 0.2x depends on click instead
        from click.exceptions import ClickException, NoArgsIsHelpError
    try:
        yield
    except NoArgsIsHelpError:
        raise  # `manage users` with nothing else: the help, as before
    except ClickException as exc:
        from app.errors import ErrorCode
        from manage import output
        from manage.exit_codes import ExitCode

        message = exc.format_message().strip().removesuffix(".")
        if message[:2].istitle():  # "No such option" -> "no such option", like our messages
            message = message[0].lower() + message[1:]
        message = exact_values(message, argv)
        output.safely(output.error_line, message)
        options = argv[: argv.index("--")] if "--" in argv else argv
        if "--json" in options:
            output.safely_json(
                success=False,
                message=message,
                error_code=ErrorCode.USAGE_ERROR,
            )
        else:
            where = getattr(exc, "ctx", None)  # click leaves it out for some parser errors
            command = where.command_path if where is not None else command_path()
            output.safely(output.hint_line, f"run `{command} --help` for the usage")
        raise typer.Exit(ExitCode.USAGE) from None


def exact_values(message: str, argv: list[str]) -> str:
    """`message` with each argument click escaped for the terminal (`\\x1b`, or a repr
    such as 'x\\x1by') given back as typed: the JSON envelope carries exact values, and
    only the stderr line escapes them (output.error_line)."""
    import re

    pieces = {part for token in argv for part in (token, *token.split("=", 1))}
    for token in sorted(pieces, key=len, reverse=True):
        escaped = {
            re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m[0]):02x}", token),
            repr(token)[1:-1],
        }
        for form in escaped - {token}:
            if form and form in message:
                message = message.replace(form, token)
    return message


def undecodable(text: str) -> bool:
    """True when `text` holds bytes that were not UTF-8: Python keeps them in argv and the
    environment as lone surrogates (PEP 383, surrogateescape), which no database, file or
    terminal can take."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def refuse_undecodable_arguments(argv: list[str]) -> None:
    """Exit 5 (invalid input) when a command-line argument is not UTF-8 text, naming the
    option it belongs to (or its position), never echoing it; with --json also the
    envelope (error_code INVALID_INPUT). Checked once here, for every command, before any
    parsing: such a value would otherwise fail deep inside a command (exit 70)."""
    for index, token in enumerate(argv):
        if not undecodable(token):
            continue
        from app.errors import ErrorCode
        from manage import output
        from manage.exit_codes import ExitCode

        name, _, _ = token.partition("=")
        previous = argv[index - 1] if index else ""
        if token.startswith("--") and "=" in token and not undecodable(name):
            what = f"the value of {name}"
        elif previous.startswith("-") and previous != "--" and "=" not in previous:
            what = f"the argument after {previous}"
        else:
            what = f"command-line argument {index + 1}"
        message = f"{what} is not UTF-8 text (it holds bytes of another encoding)"
        output.safely(output.error_line, message)
        options = argv[: argv.index("--")] if "--" in argv else argv
        if "--json" in options:
            output.safely_json(success=False, message=message, error_code=ErrorCode.INVALID_INPUT)
        raise typer.Exit(ExitCode.INVALID)


def _with_tagline(tagline: str, help_text: str | None) -> str:
    """`tagline` followed by `help_text`'s paragraphs after its first one."""
    rest = inspect.cleandoc(help_text or "").split("\n\n")[1:]
    return "\n\n".join([tagline, *rest])


def _plain_string_options(params: list[Any]) -> None:
    """Let the root's string and flag options skip Typer's pydantic TypeAdapter.

    Typer 0.2x builds a pydantic adapter for every non-bool option it parses, which imports
    pydantic (~50 ms) on every `manage GROUP ...` run even when --database-url is absent.
    A command-line string needs no coercion. This touches a private Typer class: if it
    moves, the import fails and we only lose the speed-up.
    """
    try:
        from typer._coercion import PassThroughRuntimeParam
    except ImportError:  # pragma: no cover - depends on Typer internals
        return
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", True) is not None:
            continue
        if descriptor.annotation in (str, bool):
            param._runtime_param = PassThroughRuntimeParam(
                annotation=descriptor.annotation, parameter_info=descriptor.parameter_info
            )


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"manage {version('manage')}")
        except PackageNotFoundError:
            typer.echo("manage (not installed)")
        raise typer.Exit()


app = typer.Typer(
    name="manage",
    cls=LazyGroup,
    help="Manage the backend: users, migrations and database readiness.",
    epilog="Run `manage COMMAND --help` for a group's commands. Exit codes: see README.md.",
    no_args_is_help=True,
    # Tracebacks are the runner's job (--verbose), and never with local variables.
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Database URL for this run (overrides DATABASE_URL). Keep passwords out of it: "
            "argv is visible to other users; use DATABASE_URL or PGPASSWORD instead.",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Print tracebacks (never local variables).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    if database_url and _has_password(database_url):
        from manage.output import warning_line

        warning_line(
            "--database-url contains a password, which other users can see in the process list;"
            " use DATABASE_URL or PGPASSWORD instead"
        )
    ctx.obj = GlobalOptions(database_url=database_url, verbose=verbose)
    # Settings are cached per process; a new command (or a new CliRunner invocation in the
    # tests) reads them afresh. Only touch the module if something already imported it.
    config = sys.modules.get("app.config")
    if config is not None:
        config.get_settings.cache_clear()


def _has_password(url: str) -> bool:
    _, _, rest = url.partition("://")
    userinfo = rest.split("@", 1)[0] if "@" in rest else ""
    return ":" in userinfo
