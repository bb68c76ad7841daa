"""Where the migrations are and how Alembic is configured: shared by every migration module.

The script directory (migrations/, or MANAGE_MIGRATIONS_DIR), the Alembic Config built in code
(an installed `manage` needs no alembic.ini), the models' MetaData, Alembic's errors as one line,
and the database's current heads.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import io
import os
import pkgutil
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection

import migrations
from db.errors import BadRevision, InvalidArgument, ScriptsBroken
from db.migration_lock import end_read

if TYPE_CHECKING:
    from sqlalchemy import MetaData

# Same as alembic.ini, so `alembic revision` and `manage migrate make` name files alike.
FILE_TEMPLATE = "%(year)d_%(month).2d_%(day).2d_%(hour).2d%(minute).2d-%(rev)s_%(slug)s"
# A different Alembic script directory (with its own env.py): for tests and tooling only.
MIGRATIONS_DIR_ENV = "MANAGE_MIGRATIONS_DIR"
# "module:attribute" of the MetaData that `make` and `check` compare against.
TARGET_METADATA_ENV = "MANAGE_TARGET_METADATA"
# The package whose import registers every table on db.metadata.metadata. Named, not imported
# here: db/ sits below app/ and learns the models' package from configuration, as env.py does.
MODELS_PACKAGE = "app.models"
DEFAULT_LOCK_TIMEOUT = 60.0
# Called after each revision runs: (revision, message, is_upgrade). For progress display.
OnStep = Callable[[str, str, bool], None]


def migrations_dir() -> Path:
    override = os.environ.get(MIGRATIONS_DIR_ENV)
    return Path(override).resolve() if override else Path(migrations.__file__).parent


def alembic_config(*, output_buffer: io.StringIO | None = None) -> Config:
    """The Alembic configuration, built in code so an installed `manage` needs no alembic.ini."""
    cfg = Config(output_buffer=output_buffer, cmd_opts=argparse.Namespace(quiet=True))
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("file_template", FILE_TEMPLATE.replace("%", "%%"))
    cfg.set_main_option("truncate_slug_length", "40")
    return cfg


def script_directory(cfg: Config | None = None) -> ScriptDirectory:
    """The script directory with every revision file loaded and checked (see load_checked)."""
    script = ScriptDirectory.from_config(cfg or alembic_config())
    load_checked(script)
    return script


def _broken_file(script: ScriptDirectory, exc: BaseException) -> Path | None:
    """The revision file an error came from: a SyntaxError's own file, else the innermost
    traceback frame inside the script directory."""
    root = str(Path(script.dir).resolve())
    candidates = [getattr(exc, "filename", None)]
    tb = exc.__traceback__
    while tb is not None:
        candidates.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    for name in reversed([c for c in candidates if isinstance(c, str)]):
        if str(Path(name).resolve()).startswith(root):
            return Path(name)
    return None


def _scripts_broken(file: Path | None, reason: str) -> ScriptsBroken:
    what = file.name if file is not None else "the revision graph"
    return ScriptsBroken(
        f"the migration scripts cannot be loaded: {what}: {reason}; fix or remove that file",
        file=None if file is None else str(file),
    )


def _literal_assignments(path: Path) -> dict[str, Any]:
    """Module-level `name = <literal>` assignments of a revision file, read without running it."""
    try:
        tree = ast.parse(path.read_text(errors="replace"))
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, Any] = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and node.targets else None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and value is not None:
            try:
                found[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    return found


def _static_culprit(script: ScriptDirectory) -> tuple[Path, str] | None:
    """When the revision graph cannot be built: the first file (and why) whose `revision` or
    `down_revision` is missing, not a string, unknown, or its own ancestor, read statically."""
    files = sorted(Path(script.versions).rglob("*.py"))
    declared = {path: _literal_assignments(path) for path in files if path.name != "__init__.py"}
    ids = {values.get("revision") for values in declared.values()}
    parents = {
        values.get("revision"): as_list(values.get("down_revision"))
        for values in declared.values()
        if isinstance(values.get("revision"), str)
    }
    for path, values in declared.items():
        revision = values.get("revision")
        if "revision" not in values:
            return path, "no `revision = '...'` in the file"
        if not isinstance(revision, str):
            return path, f"revision {revision!r} is not a string"
        for parent in as_list(values.get("down_revision")):
            if not isinstance(parent, str) or parent not in ids:
                return path, f"down_revision {parent!r} is not a revision in the directory"
        seen, pending = set(), list(parents.get(revision, []))
        while pending:
            current = pending.pop()
            if current == revision:
                return path, f"revision {revision!r} is its own ancestor (a cycle)"
            if current not in seen:
                seen.add(current)
                pending.extend(parents.get(current, []))
    return None


def load_checked(script: ScriptDirectory) -> None:
    """Load every revision file and the revision graph, or raise InvalidArgument (exit 5,
    REVISION_BROKEN) naming the file and the reason: a syntax or import error, SystemExit at
    import, a file without `revision`, a revision id that is not a string, a `down_revision`
    that is not in the directory, a cycle, no `upgrade()` / `downgrade()`. The same error on
    every command that reads the scripts (heads, history, status, upgrade, sql, make)."""
    try:
        revisions = list(script.walk_revisions())  # loads every file, resolves the graph
    except (Exception, SystemExit) as exc:
        where = _broken_file(script, exc)
        found = None if where else _static_culprit(script)
        if found is not None:
            raise _scripts_broken(*found) from exc
        first = str(exc).strip().splitlines()
        raise _scripts_broken(
            where, f"{type(exc).__name__}: {first[0]}" if first else type(exc).__name__
        ) from exc
    for rev in revisions:
        for function in ("upgrade", "downgrade"):
            if not callable(getattr(rev.module, function, None)):
                raise _scripts_broken(Path(rev.path), f"no {function}() function")


def target_metadata() -> MetaData:
    """The models' MetaData (or the one MANAGE_TARGET_METADATA names)."""
    spec = os.environ.get(TARGET_METADATA_ENV)
    if not spec:
        from db.metadata import metadata

        import_models(MODELS_PACKAGE)  # registers every table on the metadata
        return metadata
    module_name, _, attribute = spec.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute or "metadata")
    except (ImportError, AttributeError) as exc:
        raise InvalidArgument(f"{TARGET_METADATA_ENV}={spec!r}: {exc}") from None


def import_models(package_name: str) -> list[str]:
    """Import the package and every module under it: a model module nobody imports (not
    listed in app/models/__init__.py) still registers its tables, so `make` and `check`
    see it. Returns the module names imported."""
    package = importlib.import_module(package_name)
    names = [package_name]
    for info in pkgutil.walk_packages(getattr(package, "__path__", []), prefix=f"{package_name}."):
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            raise InvalidArgument(
                f"importing the model module {info.name} failed: {type(exc).__name__}: {exc}"
            ) from exc
        names.append(info.name)
    for path in unreachable_modules(package):
        warnings.warn(
            f"{path} is not imported: its folder has no __init__.py, so `make` and `check` do "
            "not see its tables; add an empty __init__.py to that folder",
            UserWarning,
            stacklevel=2,
        )
    return names


def unreachable_modules(package: Any) -> list[str]:
    """Python files under the package that walk_packages cannot reach: inside a folder (at any
    depth) without __init__.py. Paths as found, sorted."""
    found: list[str] = []
    for root in getattr(package, "__path__", []):
        for path in sorted(Path(root).rglob("*.py")):
            folders = path.relative_to(root).parents
            if (
                any(
                    not (Path(root) / folder / "__init__.py").is_file()
                    for folder in folders
                    if str(folder) != "."
                )
                and "__pycache__" not in path.parts
            ):
                found.append(str(path))
    return found


@contextmanager
def alembic_errors() -> Iterator[None]:
    """Alembic's own errors (unknown revision, multiple heads, ...) as one clean line: exit 5."""
    try:
        yield
    except (CommandError, RevisionError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        relative = re.match(r"Relative revision (\S+) didn't produce (\d+) migrations", message)
        if relative:  # `upgrade +1` at head, `downgrade -3` two revisions above base
            step = relative.group(1)
            where = "head" if step.lstrip().startswith("+") else "base"
            message = (
                f"{step} goes past {where}: fewer than {relative.group(2)} revision(s) "
                f"lie that way (`manage migrate status` shows where the database is)"
            )
        raise BadRevision(message) from exc


def check_revision_argument(text: str, *, what: str = "revision") -> str:
    """Refuse what Alembic would trip over (an assertion, not a clean error): exit 5."""
    if not text.strip():
        raise BadRevision(f"the {what} is empty")
    if not text.isprintable():
        raise BadRevision(f"the {what} contains control characters")
    return text.strip()


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def current_heads(connection: Connection) -> list[str]:
    heads = list(MigrationContext.configure(connection).get_current_heads())
    end_read(connection)
    return heads


def known_heads(script: ScriptDirectory, heads: list[str]) -> list[str]:
    """`heads` (what alembic_version holds), each checked to be a revision of `script`.

    A database stamped by code these scripts do not have (a rollback of the application after
    a newer release migrated it; another project's scripts) is BadRevision (exit 5) saying
    so: Alembic's own "Can't locate revision identified by 'x'" reads like a typo in an
    argument."""
    for head in heads:
        try:
            found = script.get_revision(head)
        except (CommandError, RevisionError):
            found = None
        if found is None:
            raise BadRevision(
                f"the database is at revision {head}, which these migration scripts do not "
                "have (a newer release of the code applied it, or other scripts did): run the "
                "code that has it, or see docs/migrations.md (Unknown revision in the database)"
            )
    return heads


def applied_revisions(script: ScriptDirectory, heads: list[str]) -> set[str]:
    known_heads(script, heads)
    applied: set[str] = set()
    with alembic_errors():
        for head in heads:
            applied.update(rev.revision for rev in script.iterate_revisions(head, "base"))
    return applied
